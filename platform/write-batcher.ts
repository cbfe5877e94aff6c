import type { SqliteDatabase } from "./sqlite.js";

/**
 * Group commit for a SQLite database. Writes queued in the same turn of the event loop run
 * together in ONE transaction, so one commit (and, with synchronous=FULL, one fsync) serves
 * every caller of the batch. Each write runs in its own savepoint: one that throws rolls back
 * alone and rejects only its caller. A caller's promise settles after the commit, so nothing
 * is acknowledged before it is durable.
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
  const savepoint = <T>(write: () => T): T => db.transaction(write)();

  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      const outcomes: Array<{ ok: boolean; value: unknown }> = [];
      try {
        db.transaction(() => {
          for (const p of batch) {
            try {
              outcomes.push({ ok: true, value: savepoint(p.write) });
            } catch (err) {
              outcomes.push({ ok: false, value: err });
            }
          }
        })();
      } catch (err) {
        for (const p of batch) p.reject(err);
        continue;
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
