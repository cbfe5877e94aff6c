import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openSchema, SqliteServiceStore, StoreVersionError, type StoreSchema } from "./service-store.js";
import { openDatabase, type SqliteDatabase } from "./sqlite.js";

// Version 1 had `t (k, n)`; version 2 adds `m` with a CHECK; version 3 adds table `u`.
const SCHEMA: StoreSchema = {
  service: "things",
  create:
    "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, m INTEGER NOT NULL DEFAULT 0 CHECK (m <= n)) STRICT; CREATE TABLE u (x TEXT) STRICT;",
  migrations: [
    `CREATE TABLE t2 (k TEXT PRIMARY KEY, n INTEGER NOT NULL, m INTEGER NOT NULL DEFAULT 0 CHECK (m <= n)) STRICT;
     INSERT INTO t2 (k, n) SELECT k, n FROM t; DROP TABLE t; ALTER TABLE t2 RENAME TO t;`,
    "CREATE TABLE u (x TEXT) STRICT;",
  ],
};

class ThingStore extends SqliteServiceStore {
  constructor(db: SqliteDatabase) {
    super(db, SCHEMA);
  }
  seed(rows: readonly [string, number][]): boolean {
    return this.seedTable("t", rows, ([k, n]) => this.db.prepare("INSERT INTO t (k, n) VALUES (?, ?)").run(k, n));
  }
  add(k: string, n: number): Promise<number> {
    return this.write(() => this.db.prepare("INSERT INTO t (k, n) VALUES (?, ?)").run(k, n).changes);
  }
  count(): number {
    return (this.db.prepare("SELECT count(*) AS c FROM t").get() as { c: number }).c;
  }
}

const version = (path: string): number => {
  const db = new Database(path);
  const v = db.pragma("user_version", { simple: true }) as number;
  db.close();
  return v;
};

describe("SqliteServiceStore", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
  const file = () => {
    const dir = mkdtempSync(join(tmpdir(), "service-store-"));
    dirs.push(dir);
    return join(dir, "things.db");
  };

  it("creates the current schema in a new file, seeds once, writes durably and closes", async () => {
    const path = file();
    const store = new ThingStore(openDatabase(path));
    expect(store.seed([["a", 1]])).toBe(true);
    expect(store.seed([["b", 2]])).toBe(false);
    expect(await store.add("c", 3)).toBe(1);
    store.close();
    expect(version(path)).toBe(3);
    const again = new ThingStore(openDatabase(path));
    expect(again.count()).toBe(2);
    again.close();
  });

  it("takes a file with tables and no recorded version as version 1, and migrates it", () => {
    const path = file();
    const old = new Database(path);
    old.exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL) STRICT; INSERT INTO t VALUES ('a', 5);");
    old.close();
    const store = new ThingStore(openDatabase(path));
    expect(store.count()).toBe(1);
    store.close();
    expect(version(path)).toBe(3);
    const db = new Database(path);
    expect(() => db.prepare("UPDATE t SET m = 6 WHERE k = 'a'").run()).toThrow(/CHECK constraint failed/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'u'").get()).toBeDefined();
    db.close();
  });

  it("runs only the migrations a file still needs", () => {
    const path = file();
    const db = new Database(path);
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, m INTEGER NOT NULL DEFAULT 0) STRICT;");
    db.pragma("user_version = 2");
    db.close();
    new ThingStore(openDatabase(path)).close();
    expect(version(path)).toBe(3);
  });

  it("refuses a file from a newer version, naming the file, and changes nothing", () => {
    const path = file();
    new ThingStore(openDatabase(path)).close();
    const db = new Database(path);
    db.pragma("user_version = 9");
    db.close();
    expect(() => new ThingStore(openDatabase(path))).toThrow(StoreVersionError);
    expect(() => new ThingStore(openDatabase(path))).toThrow(`things database ${path} is at schema version 9, newer than this build knows (3)`);
    expect(version(path)).toBe(9);
  });

  it("rolls a failed migration back whole, naming the file and the versions", () => {
    const path = file();
    const old = new Database(path);
    // A row that breaks version 2's rules cannot be carried over.
    old.exec("CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER) STRICT; INSERT INTO t VALUES ('a', NULL);");
    old.close();
    const db = openDatabase(path);
    expect(() => openSchema(db, SCHEMA)).toThrow(`things database ${path}: migration from schema version 1 to 2 failed, nothing was changed`);
    expect(db.pragma("user_version", { simple: true })).toBe(0);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all()).toEqual([{ name: "t" }]);
    db.close();
  });
});
