/**
 * One call of a step's action, compensation or confirmation: under its timeout, abortable by
 * `close()`, never rejecting; and how a failed call is described, classified and waited after.
 */
import { StepTimeoutError } from "./errors.js";
import type { Execution } from "./execution.js";
import { MAX_TIMER_MS } from "./retry.js";
import { type CallOutcome, halt, type RunnerState } from "./runner-state.js";
import type { ErrorInfo } from "./saga-record.js";
import type { StepContext } from "./saga.js";
import { resultsWithCarried } from "./saga-log-writer.js";
import { callPhase } from "./saga-metrics.js";

/** A call that failed (threw, rejected or timed out). */
export type FailedCall = Extract<CallOutcome, { ok: false }>;

/** Calls `work` for `stepName` under `timeoutMs`; resolves with its outcome, never rejects. */
export function callStep<I>(
  state: RunnerState,
  execution: Execution,
  work: (ctx: StepContext<I>) => Promise<unknown>,
  stepName: string,
  attempt: number,
  timeoutMs: number,
): Promise<CallOutcome> {
  // A saga taken over by another replica calls nothing more here.
  if (execution.fenced) return Promise.resolve({ ok: false, error: new Error("the saga was taken over by another replica"), timedOut: false });
  return new Promise<CallOutcome>((resolve) => {
    // The abort signal is made only if the step reads it: a step that passes its timeoutMs
    // on as the RPC deadline needs none, and an AbortController per call is measurable.
    let controller: AbortController | undefined;
    let settled = false;
    const startedAt = state.metrics ? performance.now() : 0;
    const finish = (outcome: CallOutcome): void => {
      if (settled) return;
      settled = true;
      if (state.metrics) {
        const code = outcome.ok ? "OK" : describeFailure(state, outcome).code;
        state.metrics.called(execution.definition.name, callPhase(execution.record.status), stepName, code, (performance.now() - startedAt) / 1000);
      }
      clearTimeout(timer);
      state.callsInFlight.delete(abort);
      if (execution.finishCall === finish) {
        execution.finishCall = undefined;
        execution.abortCall = undefined;
      }
      resolve(outcome);
    };
    const abort = (reason: Error): void => controller?.abort(reason);
    const timer = setTimeout(
      () => {
        const error = new StepTimeoutError(stepName, timeoutMs);
        abort(error);
        finish({ ok: false, error, timedOut: true });
      },
      Math.min(timeoutMs, MAX_TIMER_MS),
    );
    state.callsInFlight.set(abort, finish);
    execution.finishCall = finish;
    execution.abortCall = abort;
    const record = execution.record;
    const ctx: StepContext<I> = {
      sagaId: record.sagaId,
      key: `${record.sagaId}:${stepName}`,
      input: record.input as I,
      results: resultsWithCarried(record.results, execution.carried),
      attempt,
      timeoutMs,
      get signal() {
        return (controller ??= new AbortController()).signal;
      },
    };
    let pending: Promise<unknown>;
    try {
      pending = work(ctx);
    } catch (error) {
      finish({ ok: false, error, timedOut: false });
      return;
    }
    Promise.resolve(pending).then(
      (value) => finish({ ok: true, value }),
      (error: unknown) => finish({ ok: false, error, timedOut: false }),
    );
  });
}

/** A failed call as logged: a timeout is DEADLINE_EXCEEDED; anything else as `describeError` says. */
export function describeFailure(state: RunnerState, failure: FailedCall): ErrorInfo {
  if (failure.timedOut) return { code: "DEADLINE_EXCEEDED", message: (failure.error as Error).message };
  try {
    return state.describeError(failure.error);
  } catch {
    return { code: "UNKNOWN", message: String(failure.error) };
  }
}

/** Whether a failed action may be retried: a timeout always; otherwise as `isRetryable` says (false if it throws). */
export function isRetryableFailure(state: RunnerState, failure: FailedCall): boolean {
  if (failure.timedOut) return true;
  try {
    return state.isRetryable(failure.error);
  } catch {
    return false;
  }
}

/** Backs off for `ms` (less if the runner closes, an operator interrupts, or the saga is taken over); throws STOPPED or FENCED if so. */
export async function pause(state: RunnerState, execution: Execution, ms: number): Promise<void> {
  if (ms > 0) {
    await new Promise<void>((resolve, reject) => {
      execution.wakeFromPause = resolve;
      state.sleep(ms, state.stop.signal).then(resolve, reject);
    });
    execution.wakeFromPause = undefined;
  }
  halt(state, execution);
}

/**
 * Cuts short what the saga's driver is waiting for (its call in flight, or its backoff), so
 * it notices a forced compensation now rather than after the call's timeout. The call's
 * outcome is unknown: its step is compensated like any started step.
 */
export function interruptExecution(execution: Execution): void {
  const error = new Error("interrupted: an operator forced the saga to compensate");
  execution.abortCall?.(error);
  execution.finishCall?.({ ok: false, error, timedOut: false });
  execution.wakeFromPause?.();
}
