import type { SqliteDatabase } from "./sqlite.js";
import { commitRecorder } from "./store-metrics.js";
import { WalSync } from "./wal-sync.js";

/**
 * Group commit for a SQLite database. Writes queued in the same turn of the event loop run
 * together in ONE transaction, so one commit (and, for a power-safe database, one fsync)
 * serves every caller of the batch. A write that throws rolls back alone and rejects only its
 * caller. A caller's promise settles after the commit is durable, so nothing is acknowledged
 * before it would survive what the database's durability promises.
 *
 * Power-safe databases (`synchronous=FULL`, see sqlite.ts) are synced off the event loop:
 * the batcher switches the connection to NORMAL and settles each batch once a WAL fdatasync
 * that started after its commit has finished ({@link WalSync}). Writes made on the connection
 * outside the batcher (the first-start seeds) are then synced by the next batch's sync.
 */
export interface WriteBatcher {
  /** Queues `write`; resolves with its result once the batch that ran it is durable. */
  run<T>(write: () => T): Promise<T>;
  /** Commits what is queued now and syncs it, on this thread; then releases the WAL (shutdown). */
  close(): void;
}

interface Pending {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

interface Outcome {
  ok: boolean;
  value: unknown;
}

/** Creates the group-commit queue of one database connection. */
export function createWriteBatcher(db: SqliteDatabase, maxBatch = 512): WriteBatcher {
  let queue: Pending[] = [];
  let scheduled = false;
  const wal = takeOverWalSync(db);
  const commits = commitRecorder("sqlite", db.name);

  // Fast path: the whole batch in one transaction, no savepoints. Writes rarely throw (common
  // business outcomes such as a declined payment are returned, not thrown; a refused late
  // action or an unknown customer throws); when one does, the batch is rolled back and run
  // again with a savepoint per write, so only the failing write is lost. The writes are pure
  // database work, so running them again is safe.
  const runAll = db.transaction((batch: Pending[]) => batch.map((p) => p.write()));
  const runIsolated = db.transaction((batch: Pending[]) =>
    batch.map((p): Outcome => {
      try {
        return { ok: true, value: db.transaction(p.write)() };
      } catch (err) {
        return { ok: false, value: err };
      }
    }),
  );

  const settle = (batch: Pending[], outcomes: Outcome[]): void => {
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.value);
    });
  };

  /** Commits the queue; hands each batch's `release` to `afterCommit` once committed. */
  const commitQueued = (afterCommit: (release: () => void) => void): void => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
      queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
      const startedAt = commits ? performance.now() : 0;
      let outcomes: Outcome[];
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
      afterCommit(() => {
        commits?.committed(batch.length, startedAt);
        settle(batch, outcomes);
      });
    }
  };
  const commitInTurn = wal ? () => commitQueued((release) => wal.afterCommit(release)) : () => commitQueued((release) => release());

  return {
    run<T>(write: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(commitInTurn);
        }
      });
    },
    close(): void {
      const committed: Array<() => void> = [];
      commitQueued((release) => committed.push(release));
      wal?.syncNow();
      for (const release of committed) release();
      wal?.close();
    },
  };
}

/**
 * For a file database in WAL mode with synchronous=FULL: switches the connection to NORMAL and
 * returns the {@link WalSync} that keeps FULL's promise for batched writes. Otherwise none.
 */
function takeOverWalSync(db: SqliteDatabase): WalSync | undefined {
  const FULL = 2;
  if (db.memory || db.pragma("journal_mode", { simple: true }) !== "wal") return undefined;
  if (db.pragma("synchronous", { simple: true }) !== FULL) return undefined;
  db.pragma("synchronous = NORMAL");
  return new WalSync(db.name);
}
