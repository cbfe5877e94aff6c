import type { SqliteDatabase } from "./sqlite.js";

/**
 * Group commit for a SQLite database. Writes queued in the same turn of the event loop run
 * together in ONE transaction, so one commit (and, with synchronous=FULL, one fsync) serves
 * every caller of the batch. A write that throws rolls back alone and rejects only its caller.
 * A caller's promise settles after the commit, so nothing is acknowledged before it is durable.
 */
export interface WriteBatcher {
  /** Queues `write`; resolves with its result once the batch that ran it has committed. */
  run<T>(write: () => T): Promise<T>;
  /** Commits what is queued now (used on shutdown). */
  flush(): void;
}

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** Creates the group-commit queue of one database connection. */
export function createWriteBatcher(db: SqliteDatabase, maxBatch = 512): WriteBatcher {
  let queue: Pending[] = [];
  let scheduled = false;

  // Fast path: the whole batch in one transaction, no savepoints. Writes rarely throw (common
  // business outcomes such as a declined payment are returned, not thrown; a refused late
  // action or an unknown customer throws); when one does, the batch is rolled back and run
  // again with a savepoint per write, so only the failing write is lost. The writes are pure
  // database work, so running them again is safe.
  const runAll = db.transaction((batch: Pending[]) => batch.map((p) => p.write()));
  const runIsolated = db.transaction((batch: Pending[]) =>
    batch.map((p) => {
      try {
        return { ok: true, value: db.transaction(p.write)() };
      } catch (err) {
        return { ok: false, value: err };
      }
    }),
  );

  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      let outcomes: Array<{ ok: boolean; value: unknown }>;
      try {
        outcomes = runAll(batch).map((value) => ({ ok: true, value }));
      } catch {
        try {
          outcomes = runIsolated(batch);
        } catch (err) {
          for (const p of batch) p.reject(err);
          continue;
        }
      }
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (o.ok) p.resolve(o.value);
        else p.reject(o.value);
      });
    }
  };

  return {
    run<T>(write: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    flush,
  };
}
