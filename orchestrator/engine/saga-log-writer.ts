/**
 * Writing a saga's log: transitions are either carried (held back, to ride along with the
 * next durable write) or emitted (written durably with everything carried before them, then
 * applied to the record and published).
 */
import type { Json } from "./json.js";
import type { Execution, Transition } from "./execution.js";
import { FENCED, type RunnerState } from "./runner-state.js";
import { applyEvent, type SagaEvent } from "./saga-record.js";
import { FencedError } from "./saga-ownership.js";
import { fence } from "./saga-fencing.js";

/** Holds a transition back to be logged with the next one (see {@link emit}). */
export function carry(state: RunnerState, execution: Execution, ...[kind, status, step, attempt, error, output, operator]: Transition): void {
  const event: SagaEvent = {
    sagaId: execution.record.sagaId,
    sequence: ++execution.assignedSequence,
    kind,
    status,
    at: state.now(),
  };
  if (step !== undefined) event.step = step;
  if (attempt !== undefined) event.attempt = attempt;
  if (error !== undefined) event.error = error;
  if (output !== undefined) event.output = output;
  if (operator !== undefined) event.operator = operator;
  execution.carried.push(event);
}

/**
 * Logs a transition durably, then applies it and tells subscribers. Transitions carried
 * before it are appended in the same tick, so they share one group commit and are applied
 * in order, so the log is always a prefix of what happened. Carried are the transitions a
 * crash may lose without harm:
 * - a step's success: after a crash the step is sent again with its idempotency key, and
 *   the service answers with the first outcome;
 * - a step's start: the step may have been sent without its start in the log, so a resumed
 *   saga that turns to compensation arms every step after the last one it knows of
 *   (`turnToCompensation`);
 * - a confirmation's start and success: after a crash every confirmation not logged as
 *   succeeded is sent again with its key, and confirmations are idempotent.
 * Every decision that is not replayed the same way is awaited: the saga's creation (before
 * any step), a failure or deadline that turns it to compensation, each compensation's
 * start and end, the decision after the pivot (before anyone is told and before any
 * confirmation is sent), and the final status (before anyone is told). So a saga that
 * succeeds costs two durable writes (created; completed, with every step carried), or three
 * when its steps have confirmations (created; decided, with every action carried;
 * completed, with every confirmation carried).
 *
 * Concurrent confirmations of one saga may emit at once: writes of one saga go one at a
 * time, so the log keeps sequence order; an emit whose transition an earlier write already
 * carried only waits for it.
 */
export async function emit(state: RunnerState, execution: Execution, ...transition: Transition): Promise<void> {
  if (execution.fenced) throw FENCED;
  carry(state, execution, ...transition);
  const sequence = execution.assignedSequence;
  while (execution.writing !== undefined) await execution.writing;
  if (execution.writeFailure) throw execution.writeFailure.error;
  if (execution.loggedSequence >= sequence) return; // a write since then carried it
  await flush(state, execution);
}

/** Writes everything carried as one write in flight; on failure the saga writes nothing more. */
function flush(state: RunnerState, execution: Execution): Promise<void> {
  const events = execution.carried;
  execution.carried = [];
  const writing = writeEvents(state, execution, events);
  execution.writing = writing;
  const settle = (): void => {
    if (execution.writing === writing) execution.writing = undefined;
  };
  writing.then(settle, (error: unknown) => {
    execution.writeFailure ??= { error };
    settle();
  });
  return writing;
}

async function writeEvents(state: RunnerState, execution: Execution, events: SagaEvent[]): Promise<void> {
  const owner = state.owner;
  const epoch = execution.epoch;
  if (owner === undefined || epoch === undefined) {
    // The log's only owner (SQLite): plain appends, as ever.
    if (events.length === 1) await state.store.append(events[0]!);
    else await Promise.all(events.map((event) => state.store.append(event)));
  } else {
    try {
      if (events.length === 1) await owner.port.appendFenced(events[0]!, epoch);
      else await Promise.all(events.map((event) => owner.port.appendFenced(event, epoch)));
    } catch (error) {
      // Another replica owns the saga now: stop at once, and never write it again.
      if (error instanceof FencedError) fence(state, execution, error.message);
      throw error;
    }
  }
  for (const done of events) {
    execution.loggedSequence = done.sequence;
    applyEvent(execution.record, done);
    state.metrics?.logged(execution.definition.name, done);
    state.events.publish(done);
  }
}

/** The outputs of earlier steps, including successes still carried (not yet applied to the record). */
export function resultsWithCarried(results: Record<string, Json>, carried: readonly SagaEvent[]): Record<string, Json> {
  let merged: Record<string, Json> | undefined;
  for (const event of carried) {
    if (event.kind === "step-succeeded" && event.step !== undefined) (merged ??= { ...results })[event.step] = event.output ?? null;
  }
  return merged ?? results;
}
