import { describe, expect, it } from "vitest";
import { BatcherClosedError, createPostgresWriteBatcher, type WriteOutcome } from "./postgres-write-batcher.js";

/** A commit that records its batches and is released by hand, like a round trip in flight. */
function recordingCommit() {
  const batches: number[][] = [];
  const releases: Array<() => void> = [];
  const commit = (writes: readonly number[]): Promise<WriteOutcome<number>[]> => {
    batches.push([...writes]);
    return new Promise((resolve) =>
      releases.push(() => resolve(writes.map((w) => (w < 0 ? { ok: false, error: new Error(`refused ${w}`) } : { ok: true, value: w * 10 })))),
    );
  };
  const releaseNext = async (): Promise<void> => {
    while (releases.length === 0) await new Promise((r) => setImmediate(r));
    releases.shift()!();
  };
  return { batches, commit, releaseNext };
}

describe("createPostgresWriteBatcher", () => {
  it("commits a turn's writes together, and the writes made while a commit is in flight together in the next", async () => {
    const { batches, commit, releaseNext } = recordingCommit();
    const batcher = createPostgresWriteBatcher(commit);
    const first = [1, 2, 3].map((w) => batcher.run(w));
    await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([[1, 2, 3]]);
    const second = [4, 5].map((w) => batcher.run(w));
    await new Promise((r) => setImmediate(r));
    const third = batcher.run(6);
    await new Promise((r) => setImmediate(r));
    expect(batches).toHaveLength(1); // one batch in flight at a time
    await releaseNext();
    expect(await Promise.all(first)).toEqual([10, 20, 30]);
    await releaseNext();
    expect(await Promise.all([...second, third])).toEqual([40, 50, 60]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it("settles each write on its own, splits long queues, and fails a whole batch only when its commit fails", async () => {
    const { batches, commit, releaseNext } = recordingCommit();
    const batcher = createPostgresWriteBatcher(commit, 2);
    const results = [1, -2, 3].map((w) =>
      batcher.run(w).then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
    await releaseNext();
    await releaseNext();
    expect(await Promise.all(results)).toEqual([10, "refused -2", 30]);
    expect(batches).toEqual([[1, -2], [3]]);

    const failing = createPostgresWriteBatcher<number, number>(() => Promise.reject(new Error("connection lost")));
    const both = await Promise.allSettled([failing.run(1), failing.run(2)]);
    expect(both.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok"))).toEqual(["connection lost", "connection lost"]);
  });

  it("close commits what is queued, then refuses new writes", async () => {
    const { commit, releaseNext } = recordingCommit();
    const batcher = createPostgresWriteBatcher(commit);
    const queued = batcher.run(7);
    let closed = false;
    const closing = batcher.close().then(() => void (closed = true));
    await expect(batcher.run(8)).rejects.toBeInstanceOf(BatcherClosedError);
    expect(closed).toBe(false);
    await releaseNext();
    await closing;
    expect(await queued).toBe(70);
    await batcher.close();
  });
});
