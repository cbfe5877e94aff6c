/**
 * Versioned schema migrations for PostgreSQL, applied at start. Each component keeps its own
 * table of applied versions; a process applies the versions it knows that are missing, in one
 * transaction under an advisory lock (so replicas starting together migrate once), and refuses
 * to start against a schema newer than it knows, since it cannot tell what the newer version
 * changed about the meaning of the rows.
 */
import type pg from "pg";

/** One schema change. Versions count from 1 without gaps; a released migration never changes. */
export interface PostgresMigration {
  readonly version: number;
  /** What it does, kept in the versions table for people. */
  readonly name: string;
  readonly sql: string;
}

/** The database's schema is newer than this build: it must not write to it. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
  constructor(
    readonly component: string,
    readonly databaseVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `the ${component} schema in this database is at version ${databaseVersion}, and this build knows versions up to ${knownVersion}: ` +
        "refusing to start (run a build that knows the newer schema, or point it at another database)",
    );
  }
}

/** What {@link migratePostgres} did. */
export interface MigrationOutcome {
  /** Schema version found (0 for an empty database). */
  readonly from: number;
  /** Schema version now. */
  readonly to: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Brings `component`'s schema up to the last of `migrations`, recording each applied version in
 * `versionsTable`. Safe to run from several processes at once.
 * @throws SchemaTooNewError when the database has a version this build does not know; nothing is changed.
 * @throws Error when the list is not numbered 1, 2, 3… or the table name is not a plain identifier.
 */
export async function migratePostgres(
  pool: pg.Pool,
  component: string,
  versionsTable: string,
  migrations: readonly PostgresMigration[],
): Promise<MigrationOutcome> {
  if (!IDENTIFIER.test(versionsTable)) throw new Error(`not a plain table name: ${JSON.stringify(versionsTable)}`);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${component} migrations must be numbered 1, 2, 3…: found ${m.version} at position ${i + 1}`);
  });
  const known = migrations.length;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // One lock per versions table, held to the commit: concurrent starters wait, then see the result.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [versionsTable]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${versionsTable} (
         version    integer     PRIMARY KEY,
         name       text        NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const found = (await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${versionsTable}`)).rows[0]?.version ?? 0;
    if (found > known) throw new SchemaTooNewError(component, found, known);
    for (const m of migrations.slice(found)) {
      await client.query(m.sql);
      await client.query(`INSERT INTO ${versionsTable} (version, name) VALUES ($1, $2)`, [m.version, m.name]);
    }
    await client.query("COMMIT");
    return { from: found, to: known };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
