/**
 * Drives a decided saga's confirmations: once every action has succeeded the saga is past
 * its pivot, and each step's `confirm` makes its action final. They are independent, so they
 * run concurrently; each is retried on any error with capped backoff and is never
 * compensated. Past its attention budget, a confirmation leaves the saga NEEDS_ATTENTION,
 * still decided: an operator retry confirms again, nothing ever compensates it.
 */
import { backoffDelay } from "./retry.js";
import type { Execution } from "./execution.js";
import { halt, type RunnerState } from "./runner-state.js";
import { type ErrorInfo, findStep } from "./saga-record.js";
import type { SagaStep } from "./saga.js";
import { carry, emit } from "./saga-log-writer.js";
import { callStep, describeFailure, pause } from "./step-call.js";

/** A confirmation that ran out of its attention budget. */
interface ExhaustedConfirmation {
  step: string;
  attempt: number;
  error: ErrorInfo;
}

/** Whether a definition has any confirmation, i.e. whether its sagas pass through CONFIRMING. */
export function hasConfirmations(steps: readonly SagaStep<unknown>[]): boolean {
  return steps.some((step) => step.confirm !== undefined);
}

/**
 * Runs every confirmation not yet succeeded, concurrently; then logs COMPLETED, or
 * NEEDS_ATTENTION if any ran out of attempts (once all have settled, so none is left running).
 * Starts and successes are carried: with no failure, they ride along with COMPLETED.
 */
export async function runConfirmations(state: RunnerState, execution: Execution): Promise<void> {
  // One turn first: whoever waits on the decision (StartSaga) hears it in the turn that made
  // it durable, and its answer is written before the confirmations' calls. Sent in the same
  // turn, the calls would wake three services that compete with the answer's reader for the
  // cores (one client on two cores: the decided saga is answered 0.2–0.7 ms sooner).
  await nextTurn();
  halt(state, execution);
  const { definition, record } = execution;
  const pending = definition.steps.filter(
    (step) => step.confirm !== undefined && findStep(record, step.name, "confirmation")?.status !== "SUCCEEDED",
  );
  const settled = await Promise.allSettled(pending.map((step) => confirmStep(state, execution, step)));
  for (const result of settled) if (result.status === "rejected") throw result.reason;
  const exhausted = settled.flatMap((result) => (result.status === "fulfilled" && result.value ? [result.value] : []));
  const first = exhausted[0];
  if (first) {
    await emit(state, execution, "saga-needs-attention", "NEEDS_ATTENTION", first.step, first.attempt, first.error);
    state.log.error(
      { sagaId: record.sagaId, steps: exhausted.map((e) => e.step), attempts: first.attempt, error: first.error },
      "confirmation out of retries: saga needs attention (decided: it will not compensate)",
    );
    return;
  }
  await emit(state, execution, "saga-completed", "COMPLETED");
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Confirms one step until it succeeds (undefined) or runs out of its budget (returned). */
async function confirmStep(state: RunnerState, execution: Execution, step: SagaStep<unknown>): Promise<ExhaustedConfirmation | undefined> {
  const confirm = step.confirm!;
  const name = step.name;
  const stepRecord = findStep(execution.record, name, "confirmation");
  let attempt: number;
  if (stepRecord === undefined || stepRecord.status === "FAILED") {
    carry(state, execution, "confirmation-started", "CONFIRMING", name, 1);
    attempt = 1;
  } else {
    // Started, outcome unknown (crash): confirm again with the same key.
    attempt = stepRecord.lastError ? stepRecord.attempts + 1 : stepRecord.attempts;
  }
  const policy = step.confirmationRetry;
  for (;;) {
    const outcome = await callStep(state, execution, confirm, name, attempt, policy.timeoutMs);
    halt(state, execution);
    if (outcome.ok) {
      carry(state, execution, "confirmation-succeeded", "CONFIRMING", name, attempt);
      return undefined;
    }
    const error = describeFailure(state, outcome);
    if (attempt >= policy.attentionAfter) {
      carry(state, execution, "confirmation-failed", "CONFIRMING", name, attempt, error);
      return { step: name, attempt, error };
    }
    await emit(state, execution, "confirmation-attempt-failed", "CONFIRMING", name, attempt, error);
    state.log.warn({ sagaId: execution.record.sagaId, step: name, attempt, error }, "confirmation attempt failed; retrying");
    await pause(state, execution, backoffDelay(policy, attempt, state.random));
    attempt++;
  }
}
