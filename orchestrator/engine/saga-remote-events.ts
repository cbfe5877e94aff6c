/**
 * Events of sagas other replicas drive, published here for the listeners that asked for them
 * (`subscribe(…, { everywhere: true })`): on news from the change feed, each saga someone
 * listens to is read back from the log and its new events are published, one saga after
 * another in the order the news came, so each saga's events arrive in sequence order.
 */
import type { RunnerState } from "./runner-state.js";
import type { SagaChange, SagaChangeFeed } from "./saga-change-feed.js";

/** Most changes waiting to be read back; past it the oldest are dropped (their waits fall back on reading the log at their timeout). */
const MAX_QUEUED_CHANGES = 10_000;

/** Starts publishing other replicas' events from `feed`; returns how to stop. */
export function followOtherReplicas(state: RunnerState, feed: SagaChangeFeed): () => void {
  const queue: SagaChange[] = [];
  let draining = false;
  const drain = async (): Promise<void> => {
    draining = true;
    try {
      for (let change = queue.shift(); change !== undefined && !state.closed; change = queue.shift()) {
        // Driven here (it changed hands meanwhile): this runner publishes its events itself.
        if (state.executions.has(change.sagaId) || !state.events.hearsElsewhere(change.sagaId)) continue;
        try {
          const stored = await state.store.load(change.sagaId);
          for (const event of stored?.events ?? []) {
            if (event.sequence >= change.from && event.sequence <= change.to) state.events.publish(event, true);
          }
        } catch (error) {
          state.log.warn({ err: error, sagaId: change.sagaId }, "could not read back another replica's saga events for a watcher");
        }
      }
    } finally {
      draining = false;
    }
  };
  return feed.onChanges((changes) => {
    for (const change of changes) if (state.events.hearsElsewhere(change.sagaId)) queue.push(change);
    if (queue.length > MAX_QUEUED_CHANGES) queue.splice(0, queue.length - MAX_QUEUED_CHANGES);
    if (!draining && queue.length > 0) void drain();
  });
}
