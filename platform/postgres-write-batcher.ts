/**
 * Group commit for an asynchronous database (PostgreSQL). Writes queued while no batch is
 * committing go out together after the current event-loop turn; writes queued while a batch is
 * committing wait for it and then go out together in the next one. So one commit serves every
 * caller that wrote meanwhile, and the batches grow with the load instead of the commits
 * multiplying. One batch is in flight at a time, which keeps each caller's writes in the order
 * it made them. What a batch is (statements, transactions) is the `commit` function's business;
 * it settles each write on its own, so one refused write does not fail the others.
 */

import { commitRecorder } from "./store-metrics.js";

/** How one write of a batch ended. */
export type WriteOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** Commits `writes` and says, in the same order, how each ended. Rejecting fails the whole batch. */
export type CommitBatch<W, R> = (writes: readonly W[]) => Promise<readonly WriteOutcome<R>[]>;

/** The queue in front of one database's writes. */
export interface PostgresWriteBatcher<W, R> {
  /** Queues `write`; settles once the batch holding it has committed (or failed). */
  run(write: W): Promise<R>;
  /** Commits everything queued, then refuses new writes. Idempotent. */
  close(): Promise<void>;
}

interface Pending<W, R> {
  write: W;
  resolve: (value: R) => void;
  reject: (reason: unknown) => void;
}

/** Thrown by `run` after `close`. */
export class BatcherClosedError extends Error {
  override name = "BatcherClosedError";
  constructor() {
    super("the write queue is closed");
  }
}

/** Creates a group-commit queue that hands batches of at most `maxBatch` writes to `commit`. */
export function createPostgresWriteBatcher<W, R>(commit: CommitBatch<W, R>, maxBatch = 10_000, database = "postgres"): PostgresWriteBatcher<W, R> {
  const commits = commitRecorder("postgres", database);
  let queue: Pending<W, R>[] = [];
  let scheduled = false;
  let committing: Promise<void> | undefined;
  let closed = false;
  let drained: (() => void) | undefined;

  const schedule = (): void => {
    if (scheduled || committing || queue.length === 0) {
      if (!committing && queue.length === 0) drained?.();
      return;
    }
    scheduled = true;
    // After the turn, so every write the turn makes (and the microtasks it starts) joins the batch.
    setImmediate(flush);
  };

  const flush = (): void => {
    scheduled = false;
    if (committing || queue.length === 0) return schedule();
    const batch = queue.length <= maxBatch ? queue : queue.slice(0, maxBatch);
    queue = queue.length <= maxBatch ? [] : queue.slice(maxBatch);
    committing = commitOne(batch).finally(() => {
      committing = undefined;
      schedule();
    });
  };

  const commitOne = async (batch: Pending<W, R>[]): Promise<void> => {
    let outcomes: readonly WriteOutcome<R>[];
    const startedAt = commits ? performance.now() : 0;
    try {
      outcomes = await commit(batch.map((p) => p.write));
      if (outcomes.length !== batch.length) throw new Error(`commit settled ${outcomes.length} of ${batch.length} writes`);
      commits?.committed(batch.length, startedAt);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.error);
    });
  };

  return {
    run(write: W): Promise<R> {
      if (closed) return Promise.reject(new BatcherClosedError());
      return new Promise<R>((resolve, reject) => {
        queue.push({ write, resolve, reject });
        schedule();
      });
    },
    close(): Promise<void> {
      closed = true;
      if (!committing && !scheduled && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        drained = resolve;
        if (!scheduled) schedule();
      });
    },
  };
}
