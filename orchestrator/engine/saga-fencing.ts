/**
 * What a replica does when a saga it drives turns out to be another's (a write refused with
 * `FencedError`, or a renewal that no longer returns it): it stops driving it at once. The
 * call in flight is cut short and its result discarded, the backoff under way ends, the saga
 * leaves this runner's memory, and nothing more is called or written for it here.
 */
import { SagaTakenOverError } from "./errors.js";
import type { Execution } from "./execution.js";
import type { RunnerState } from "./runner-state.js";
import { wakeIdleIfIdle } from "./saga-lifecycle.js";

/** Stops driving `execution` for good (idempotent); `why` is logged once. */
export function fence(state: RunnerState, execution: Execution, why: string): void {
  if (execution.fenced) return;
  execution.fenced = true;
  const sagaId = execution.record.sagaId;
  const error = new Error(`saga ${sagaId} was taken over by another replica`);
  execution.abortCall?.(error);
  execution.finishCall?.({ ok: false, error, timedOut: false });
  execution.wakeFromPause?.();
  execution.compensationRequest?.reject(new SagaTakenOverError(sagaId));
  execution.compensationRequest = undefined;
  if (state.executions.get(sagaId) === execution) {
    state.executions.delete(sagaId);
    wakeIdleIfIdle(state);
  }
  state.log.warn(
    { sagaId, epoch: execution.epoch, replica: state.owner?.replicaId, why },
    "saga taken over by another replica: stopped driving it here",
  );
}
