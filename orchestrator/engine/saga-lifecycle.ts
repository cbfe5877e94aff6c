/**
 * A saga's drive from launch to its end (actions, then confirmations or compensations), and the runner's own
 * lifecycle around the drives: resuming unfinished sagas at boot, telling when it is idle,
 * and closing without losing anything the log does not already hold.
 */
import { runActions } from "./action-driver.js";
import { runCompensations } from "./compensation-driver.js";
import { runConfirmations } from "./confirmation-driver.js";
import { type Execution, newExecution } from "./execution.js";
import { type RunnerState, STOPPED } from "./runner-state.js";
import { foldSaga, isTerminal } from "./saga-record.js";
import { SagaStateError } from "./errors.js";

/** Drives one saga as far as it goes; never rejects (a failed write leaves it for the next boot). */
async function drive(state: RunnerState, execution: Execution): Promise<void> {
  try {
    if (execution.record.status === "RUNNING") await runActions(state, execution);
    // A compensation forced while the saga was already turning (or deciding) on its own.
    refuseCompensationRequest(execution, `saga ${execution.record.sagaId} had already turned ${execution.record.status}`);
    if (execution.record.status === "CONFIRMING") await runConfirmations(state, execution);
    if (execution.record.status === "COMPENSATING") await runCompensations(state, execution);
  } catch (error) {
    if (error !== STOPPED) {
      state.log.error({ err: error, sagaId: execution.record.sagaId }, "saga stopped: its log could not be written; it resumes on next boot");
    }
  } finally {
    const sagaId = execution.record.sagaId;
    refuseCompensationRequest(execution, `saga ${sagaId} stopped before the forced compensation was logged`);
    state.executions.delete(sagaId);
    wakeIdleIfIdle(state);
  }
}

function refuseCompensationRequest(execution: Execution, why: string): void {
  execution.compensationRequest?.reject(new SagaStateError(execution.record.sagaId, why));
  execution.compensationRequest = undefined;
}

/** Starts driving an execution in the background. */
export function launch(state: RunnerState, execution: Execution): void {
  const sagaId = execution.record.sagaId;
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

/** At boot: launches every unfinished saga of the store from its log; returns how many. */
export async function resumePending(state: RunnerState): Promise<number> {
  if (state.closed) return 0;
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
    state.stop.abort(new Error("saga runner closed"));
    for (const [abort, finish] of state.callsInFlight) {
      abort(new Error("saga runner closed"));
      finish({ ok: false, error: new Error("saga runner closed"), timedOut: false });
    }
  }
  await Promise.allSettled([...state.drives]);
  wakeIdle(state);
}
