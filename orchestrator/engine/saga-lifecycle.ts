/**
 * A saga's drive from launch to its end (actions, then confirmations or compensations), and the runner's own
 * lifecycle around the drives: resuming unfinished sagas at boot, telling when it is idle,
 * and closing without losing anything the log does not already hold.
 */
import { runActions } from "./action-driver.js";
import { runCompensations } from "./compensation-driver.js";
import { runConfirmations } from "./confirmation-driver.js";
import { type Execution, newExecution } from "./execution.js";
import { FENCED, type RunnerState, STOPPED } from "./runner-state.js";
import { foldSaga, isTerminal, UNFINISHED_STATUSES } from "./saga-record.js";
import { SagaStateError } from "./errors.js";
import { FencedError } from "./saga-ownership.js";
import { fence } from "./saga-fencing.js";
import { releaseLeases, startLeases } from "./saga-leases.js";

/**
 * Drives one saga as far as it goes; never rejects. A write the store failed leaves the log's
 * end unknown, so the saga is read back from the log (with backoff, for as long as the store
 * does not answer) and driven on from there, as after a crash; a saga taken over by another
 * replica is dropped.
 */
async function drive(state: RunnerState, first: Execution): Promise<void> {
  let execution = first;
  try {
    for (;;) {
      try {
        await driveOnce(state, execution);
        return;
      } catch (error) {
        if (error === STOPPED) return;
        if (error === FENCED || error instanceof FencedError || execution.fenced) {
          fence(state, execution, error instanceof Error ? error.message : "its lease was lost");
          return;
        }
        state.log.warn({ err: error, sagaId: execution.record.sagaId }, "saga log write failed: the saga is read back from the log and driven on");
        refuseCompensationRequest(execution, `saga ${execution.record.sagaId} could not log the forced compensation`);
        const next = await reloadAfterFailure(state, execution);
        if (!next) return;
        execution = next;
      }
    }
  } finally {
    const sagaId = execution.record.sagaId;
    refuseCompensationRequest(execution, `saga ${sagaId} stopped before the forced compensation was logged`);
    if (state.executions.get(sagaId) === execution) state.executions.delete(sagaId);
    wakeIdleIfIdle(state);
  }
}

async function driveOnce(state: RunnerState, execution: Execution): Promise<void> {
  if (execution.record.status === "RUNNING") await runActions(state, execution);
  // A compensation forced while the saga was already turning (or deciding) on its own.
  refuseCompensationRequest(execution, `saga ${execution.record.sagaId} had already turned ${execution.record.status}`);
  if (execution.record.status === "CONFIRMING") await runConfirmations(state, execution);
  if (execution.record.status === "COMPENSATING") await runCompensations(state, execution);
}

/** Longest wait between two reads of a saga whose write failed, while the store does not answer. */
const MAX_RELOAD_DELAY_MS = 5_000;

/**
 * Reads a saga back from the log after a failed write, retrying with capped backoff until the
 * store answers (or the runner closes, or the saga is taken over), and returns the execution
 * that drives it on from what is durable; undefined when there is nothing more to drive here.
 */
async function reloadAfterFailure(state: RunnerState, failed: Execution): Promise<Execution | undefined> {
  const sagaId = failed.record.sagaId;
  for (let attempt = 1; ; attempt++) {
    const ceiling = Math.min(MAX_RELOAD_DELAY_MS, 100 * 2 ** Math.min(attempt - 1, 10));
    await state.sleep(ceiling / 2 + Math.floor(state.random() * (ceiling / 2)), state.stop.signal);
    if (state.closed || failed.fenced) return undefined;
    let stored;
    try {
      stored = await state.store.load(sagaId);
    } catch (error) {
      if (attempt === 1 || attempt % 10 === 0) state.log.warn({ err: error, sagaId, attempt }, "saga log unreachable: the saga waits for it");
      continue;
    }
    if (state.closed || failed.fenced) return undefined;
    if (!stored) {
      state.log.error({ sagaId }, "saga missing from the log after a failed write: nothing to drive");
      return undefined;
    }
    const record = foldSaga(stored.header, stored.events);
    if (!UNFINISHED_STATUSES.includes(record.status)) return undefined;
    const next = newExecution(failed.definition, record, stored.events.length, true);
    next.epoch = failed.epoch;
    next.ownedSince = failed.ownedSince;
    if (state.executions.get(sagaId) !== failed) return undefined; // dropped meanwhile (taken over)
    state.executions.set(sagaId, next);
    state.log.info({ sagaId, status: record.status, attempts: attempt }, "saga read back from the log after a failed write: driving it on");
    return next;
  }
}

function refuseCompensationRequest(execution: Execution, why: string): void {
  execution.compensationRequest?.reject(new SagaStateError(execution.record.sagaId, why));
  execution.compensationRequest = undefined;
}

/** Starts driving an execution in the background. */
export function launch(state: RunnerState, execution: Execution): void {
  const sagaId = execution.record.sagaId;
  if (execution.fenced) return;
  state.executions.set(sagaId, execution);
  const driving = drive(state, execution);
  state.drives.add(driving);
  state.driveBySaga.set(sagaId, driving);
  void driving.finally(() => {
    state.drives.delete(driving);
    if (state.driveBySaga.get(sagaId) === driving) state.driveBySaga.delete(sagaId);
  });
}

/** Sagas being driven now, including starts not yet durable. */
export function inFlight(state: RunnerState): number {
  return state.executions.size + state.pendingStarts;
}

/** Resolves `idle()` waiters when nothing is being driven. */
export function wakeIdleIfIdle(state: RunnerState): void {
  if (inFlight(state) === 0) wakeIdle(state);
}

function wakeIdle(state: RunnerState): void {
  const waiters = state.idleWaiters;
  state.idleWaiters = [];
  for (const waiter of waiters) waiter();
}

/** Resolves when no saga is being driven (now or later). */
export function idle(state: RunnerState): Promise<void> {
  if (inFlight(state) === 0) return Promise.resolve();
  return new Promise<void>((resolve) => state.idleWaiters.push(resolve));
}

/**
 * At boot: launches every unfinished saga of the store from its log; returns how many. With
 * ownership, claims the sagas nobody holds instead, and starts the lease timers.
 */
export async function resumePending(state: RunnerState): Promise<number> {
  if (state.closed) return 0;
  if (state.owner) return startLeases(state);
  const sagaIds = await state.store.unfinished();
  let resumed = 0;
  for (const sagaId of sagaIds) {
    if (state.closed) break;
    if (state.executions.has(sagaId)) continue;
    const stored = await state.store.load(sagaId);
    if (!stored || state.executions.has(sagaId)) continue;
    const { header } = stored;
    const definition = state.definitions.exact(header.definitionName, header.definitionVersion);
    if (!definition) {
      state.log.error(
        { sagaId, definition: header.definitionName, version: header.definitionVersion },
        "cannot resume saga: its definition version is not registered; left untouched",
      );
      continue;
    }
    const record = foldSaga(header, stored.events);
    if (isTerminal(record.status)) continue;
    launch(state, newExecution(definition, record, stored.events.length, true));
    resumed++;
  }
  if (resumed > 0) state.log.info({ resumed }, "resumed unfinished sagas from the log");
  return resumed;
}

/** Stops starting and continuing work and waits for the drives to wind down; unfinished sagas stay in the log. */
export async function close(state: RunnerState): Promise<void> {
  if (!state.closed) {
    state.closed = true;
    state.stopFollowing?.();
    state.stop.abort(new Error("saga runner closed"));
    for (const [abort, finish] of state.callsInFlight) {
      abort(new Error("saga runner closed"));
      finish({ ok: false, error: new Error("saga runner closed"), timedOut: false });
    }
  }
  await Promise.allSettled([...state.drives]);
  await releaseLeases(state);
  wakeIdle(state);
}
