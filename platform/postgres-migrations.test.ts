import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratePostgres, type PostgresMigration, SchemaTooNewError } from "./postgres-migrations.js";
import { openPostgresPool } from "./postgres.js";
import { createTestDatabase, type TestDatabase } from "./postgres-test-database.js";

let database: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  database = await createTestDatabase("platform_migrations_test");
  pool = await openPostgresPool({ connectionString: database.url, connectAttempts: 1 });
});
afterAll(async () => {
  await pool?.end();
  await database?.drop();
});

const v1: PostgresMigration = { version: 1, name: "thing", sql: "CREATE TABLE thing (id integer PRIMARY KEY)" };
const v2: PostgresMigration = { version: 2, name: "thing.label", sql: "ALTER TABLE thing ADD COLUMN label text NOT NULL DEFAULT ''" };

async function columns(table: string): Promise<string[]> {
  const { rows } = await pool.query<{ column_name: string }>(
    "SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position",
    [table],
  );
  return rows.map((r) => r.column_name);
}

describe("migratePostgres", () => {
  it("applies the missing versions in order, once, and records them", async () => {
    expect(await migratePostgres(pool, "things", "thing_version", [v1])).toEqual({ from: 0, to: 1 });
    expect(await columns("thing")).toEqual(["id"]);
    expect(await migratePostgres(pool, "things", "thing_version", [v1])).toEqual({ from: 1, to: 1 });
    // Several starters at once (replicas): the lock makes one migrate and the others see it done.
    const outcomes = await Promise.all([1, 2, 3].map(() => migratePostgres(pool, "things", "thing_version", [v1, v2])));
    expect(outcomes.map((o) => o.to)).toEqual([2, 2, 2]);
    expect(outcomes.filter((o) => o.from === 1)).toHaveLength(1);
    expect(await columns("thing")).toEqual(["id", "label"]);
    const { rows } = await pool.query("SELECT version, name FROM thing_version ORDER BY version");
    expect(rows).toEqual([
      { version: 1, name: "thing" },
      { version: 2, name: "thing.label" },
    ]);
  });

  it("refuses a schema newer than it knows, and changes nothing", async () => {
    await migratePostgres(pool, "gadgets", "gadget_version", [
      { version: 1, name: "gadget", sql: "CREATE TABLE gadget (id integer)" },
      { version: 2, name: "gadget.size", sql: "ALTER TABLE gadget ADD COLUMN size integer" },
    ]);
    const older: PostgresMigration[] = [{ version: 1, name: "gadget", sql: "CREATE TABLE gadget (id integer)" }];
    const error = await migratePostgres(pool, "gadgets", "gadget_version", older).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as Error).message).toMatch(
      /gadgets schema in this database is at version 2, and this build knows versions up to 1: refusing to start/,
    );
    expect(await columns("gadget")).toEqual(["id", "size"]);
  });

  it("rolls a failing migration back whole", async () => {
    const broken: PostgresMigration[] = [
      { version: 1, name: "widget", sql: "CREATE TABLE widget (id integer)" },
      { version: 2, name: "broken", sql: "ALTER TABLE no_such_table ADD COLUMN x integer" },
    ];
    await expect(migratePostgres(pool, "widgets", "widget_version", broken)).rejects.toThrow(/no_such_table/);
    expect(await columns("widget")).toEqual([]);
    expect(await columns("widget_version")).toEqual([]);
  });

  it("refuses a list with gaps and a table name that is not a plain identifier", async () => {
    await expect(migratePostgres(pool, "x", "x_version", [v2])).rejects.toThrow(/numbered 1, 2, 3…: found 2 at position 1/);
    await expect(migratePostgres(pool, "x", "x_version; DROP TABLE thing", [v1])).rejects.toThrow(/not a plain table name/);
    expect(await columns("thing")).toEqual(["id", "label"]);
  });
});
