import { describe, expect, it } from "vitest";
import { openDatabase } from "./sqlite.js";
import { createWriteBatcher } from "./write-batcher.js";

describe("createWriteBatcher", () => {
  it("commits the writes of one turn together, and a write that throws rolls back alone", async () => {
    const db = openDatabase(":memory:");
    db.exec("CREATE TABLE t (k TEXT PRIMARY KEY)");
    const insert = db.prepare("INSERT INTO t (k) VALUES (?)");
    const batcher = createWriteBatcher(db);
    const results = await Promise.allSettled([
      batcher.run(() => insert.run("a").changes),
      batcher.run(() => {
        insert.run("b");
        throw new Error("half done");
      }),
      batcher.run(() => insert.run("c").changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error("half done"));
    expect(db.prepare("SELECT k FROM t ORDER BY k").pluck().all()).toEqual(["a", "c"]);
  });

  it("settles a caller only after its batch committed", async () => {
    const db = openDatabase(":memory:");
    db.exec("CREATE TABLE t (k TEXT)");
    const batcher = createWriteBatcher(db);
    const pending = batcher.run(() => db.prepare("INSERT INTO t VALUES ('x')").run());
    expect(db.inTransaction).toBe(false);
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(0);
    await pending;
    expect(db.prepare("SELECT count(*) FROM t").pluck().get()).toBe(1);
  });
});
