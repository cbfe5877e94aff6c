import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openDatabase } from "./sqlite.js";
import { createWriteBatcher } from "./write-batcher.js";

// Every fdatasync the platform starts or finishes is noted here, in order, so the tests can
// see which sync a caller was released by. The syncs themselves are real.
const events: string[] = [];
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  let n = 0;
  const fdatasync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void): void => {
    const id = ++n;
    events.push(`sync ${id} start`);
    fs.fdatasync(fd, (err) => {
      events.push(`sync ${id} end`);
      done(err);
    });
  };
  return { ...fs, default: { ...fs, fdatasync }, fdatasync };
});

const dirs: string[] = [];
function tempDatabasePath(): string {
  const dir = mkdtempSync(join(tmpdir(), "tp-saga-wal-"));
  dirs.push(dir);
  return join(dir, "store.db");
}

afterEach(() => {
  events.length = 0;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("write batcher on a power-safe database", () => {
  it("answers a write only after a WAL sync that started after its commit", async () => {
    const db = openDatabase(tempDatabasePath(), "power");
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)");
    const insert = db.prepare("INSERT INTO t (k) VALUES (?)");
    const batcher = createWriteBatcher(db);

    const first = batcher.run(() => insert.run("a")).then(() => events.push("a answered"));
    // Wait until the first batch has committed and its sync is running, then write again.
    await vi.waitFor(() => expect(events).toContain("sync 1 start"));
    const second = batcher.run(() => insert.run("b")).then(() => events.push("b answered"));
    await Promise.all([first, second]);

    expect(events.indexOf("a answered")).toBeGreaterThan(events.indexOf("sync 1 end"));
    // "b" committed while sync 1 ran, so sync 1 does not cover it: it waits for sync 2.
    expect(events.indexOf("sync 2 start")).toBeGreaterThan(events.indexOf("sync 1 end"));
    expect(events.indexOf("b answered")).toBeGreaterThan(events.indexOf("sync 2 end"));
    batcher.close();
    db.close();
  });

  it("shares one sync among the writes committed while another runs, and keeps every write", async () => {
    const path = tempDatabasePath();
    const db = openDatabase(path, "power");
    db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)");
    const insert = db.prepare("INSERT INTO t (k) VALUES (?)");
    const batcher = createWriteBatcher(db, 10);
    // The connection itself no longer syncs in each commit: the batcher does, off the loop.
    expect(db.pragma("synchronous", { simple: true })).toBe(1);

    await Promise.all(Array.from({ length: 200 }, (_, k) => batcher.run(() => insert.run(k))));
    const syncs = events.filter((e) => e.endsWith("start")).length;
    // 20 transactions of 10 writes; the first sync covers one of them, the next the rest.
    expect(syncs).toBeGreaterThanOrEqual(1);
    expect(syncs).toBeLessThan(20);
    batcher.close();
    db.close();

    const reopened = openDatabase(path, "power");
    expect(reopened.prepare("SELECT count(*) FROM t").pluck().get()).toBe(200);
    reopened.close();
  });

  it("on close, commits and syncs what is queued on this thread before answering", async () => {
    const db = openDatabase(tempDatabasePath(), "power");
    db.exec("CREATE TABLE t (k TEXT)");
    const batcher = createWriteBatcher(db);
    const pending = batcher.run(() => db.prepare("INSERT INTO t VALUES ('x')").run());
    batcher.close();
    expect(events).toEqual([]); // synced with fdatasyncSync, not on the pool
    await pending;
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(1);
    db.close();
  });

  it("leaves a process-safe database to SQLite: no syncs of its own", async () => {
    const db = openDatabase(tempDatabasePath(), "process");
    db.exec("CREATE TABLE t (k TEXT)");
    const batcher = createWriteBatcher(db);
    await batcher.run(() => db.prepare("INSERT INTO t VALUES ('x')").run());
    expect(events).toEqual([]);
    expect(db.pragma("synchronous", { simple: true })).toBe(1);
    batcher.close();
    db.close();
  });
});
