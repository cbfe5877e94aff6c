/**
 * Drives a saga's compensations, in reverse order of its steps: each is started and ended
 * durably, retried on any error with capped backoff, and past its attention budget leaves
 * the saga NEEDS_ATTENTION for an operator.
 */
import { backoffDelay } from "./retry.js";
import type { Execution } from "./execution.js";
import { halt, type RunnerState } from "./runner-state.js";
import { findStep } from "./saga-record.js";
import type { SagaStep } from "./saga.js";
import { emit } from "./saga-log-writer.js";
import { callStep, describeFailure, pause } from "./step-call.js";

/** Runs every compensation of the scope not yet succeeded, then logs COMPENSATED (or NEEDS_ATTENTION). */
export async function runCompensations(state: RunnerState, execution: Execution): Promise<void> {
  const { record } = execution;
  const scope = compensationScope(execution);
  for (let index = scope.length - 1; index >= 0; index--) {
    const step = scope[index]!;
    const name = step.name;
    if (!step.compensate) continue;
    const compensate = step.compensate;
    const stepRecord = findStep(record, name, "compensation");
    if (stepRecord?.status === "SUCCEEDED") continue;
    let attempt: number;
    if (stepRecord === undefined || stepRecord.status === "FAILED") {
      await emit(state, execution, "compensation-started", "COMPENSATING", name, 1);
      halt(state, execution);
      attempt = 1;
    } else {
      attempt = stepRecord.lastError ? stepRecord.attempts + 1 : stepRecord.attempts;
    }
    const policy = step.compensationRetry;
    for (;;) {
      const outcome = await callStep(state, execution, compensate, name, attempt, policy.timeoutMs);
      halt(state, execution);
      if (outcome.ok) {
        await emit(state, execution, "compensation-succeeded", "COMPENSATING", name, attempt);
        halt(state, execution);
        break;
      }
      const error = describeFailure(state, outcome);
      if (attempt >= policy.attentionAfter) {
        await emit(state, execution, "saga-needs-attention", "NEEDS_ATTENTION", name, attempt, error);
        state.log.error({ sagaId: record.sagaId, step: name, attempts: attempt, error }, "compensation out of retries: saga needs attention");
        return;
      }
      await emit(state, execution, "compensation-attempt-failed", "COMPENSATING", name, attempt, error);
      state.log.warn({ sagaId: record.sagaId, step: name, attempt, error }, "compensation attempt failed; retrying");
      await pause(state, execution, backoffDelay(policy, attempt, state.random));
      attempt++;
    }
  }
  await emit(state, execution, "saga-compensated", "COMPENSATED");
}

/** The steps to compensate, in definition order: every step the log shows started or compensating. */
function compensationScope(execution: Execution): Array<SagaStep<unknown>> {
  const logged = new Set<string>();
  for (const stepRecord of execution.record.steps) logged.add(stepRecord.name);
  return execution.definition.steps.filter((step) => logged.has(step.name));
}
