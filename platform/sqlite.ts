import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** How much a committed write survives: a process crash (`process`) or a power loss (`power`). */
export type Durability = "process" | "power";

/** The durability settings, for configuration. */
export const DURABILITIES = ["process", "power"] as const;

export type SqliteDatabase = Database.Database;

/**
 * Opens a SQLite database in WAL mode. `path` ":memory:" gives a private in-memory database
 * (tests); any other path is created with its directory.
 *
 * - `process`: synchronous=NORMAL. A commit survives kill -9 of the process (the WAL is in
 *   the OS page cache); the last commits may be lost on power loss.
 * - `power`: synchronous=FULL. A commit returns after fsync, so it survives power loss.
 */
export function openDatabase(path: string, durability: Durability = "process"): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${durability === "power" ? "FULL" : "NORMAL"}`);
  db.pragma("busy_timeout = 5000");
  db.pragma("foreign_keys = ON");
  return db;
}
