/**
 * Drives a saga's actions forward, in order: each step is started (carried), called with
 * retries and backoff under the saga's deadline, and its success carried; a business
 * failure, an unknown outcome past the retries, or the deadline turns the saga to
 * compensation. Once the last action succeeds the saga is decided and the deadline no
 * longer applies.
 */
import { backoffDelay } from "./retry.js";
import { hasConfirmations } from "./confirmation-driver.js";
import { isJson } from "./json.js";
import type { Execution } from "./execution.js";
import { FENCED, halt, type RunnerState } from "./runner-state.js";
import { SagaTakenOverError } from "./errors.js";
import { FencedError } from "./saga-ownership.js";
import { copyRecord, type ErrorInfo, findStep, type OperatorNote } from "./saga-record.js";
import { carry, emit } from "./saga-log-writer.js";
import { callStep, describeFailure, isRetryableFailure, pause } from "./step-call.js";

/**
 * Runs every action not yet succeeded, then logs the decision (CONFIRMING, or COMPLETED when
 * no step confirms), or turns the saga to compensation.
 */
export async function runActions(state: RunnerState, execution: Execution): Promise<void> {
  const { definition, record } = execution;
  const deadline = record.createdAt + definition.deadlineMs;
  const deadlineError = (): ErrorInfo => ({
    code: "DEADLINE_EXCEEDED",
    message: `saga deadline of ${definition.deadlineMs} ms passed`,
  });
  for (const step of definition.steps) {
    const stepRecord = findStep(record, step.name, "action");
    if (stepRecord?.status === "SUCCEEDED") continue; // replayed from the log, never called again
    if (execution.compensationRequest) return turnByOperator(state, execution, undefined, undefined);
    let attempt: number;
    if (stepRecord === undefined) {
      if (state.now() >= deadline) {
        await turnToCompensation(state, execution, "saga-deadline-exceeded", undefined, undefined, deadlineError());
        return;
      }
      carry(state, execution, "step-started", "RUNNING", step.name, 1);
      attempt = 1;
    } else {
      // Started, outcome unknown (crash): call again with the same key.
      attempt = stepRecord.lastError ? stepRecord.attempts + 1 : stepRecord.attempts;
      if (state.now() >= deadline) {
        await turnToCompensation(state, execution, "step-failed", step.name, stepRecord.attempts, deadlineError());
        return;
      }
    }
    for (;;) {
      const outcome = await callStep(state, execution, step.action, step.name, attempt, step.retry.timeoutMs);
      halt(state, execution);
      if (outcome.ok) {
        const output = outcome.value === undefined ? null : outcome.value;
        if (!isJson(output)) {
          const error = { code: "INTERNAL", message: `step "${step.name}" returned a value that is not plain JSON` };
          state.log.error({ sagaId: record.sagaId, step: step.name }, error.message);
          await turnToCompensation(state, execution, "step-failed", step.name, attempt, error);
          return;
        }
        carry(state, execution, "step-succeeded", "RUNNING", step.name, attempt, undefined, output);
        break;
      }
      if (execution.compensationRequest) return turnByOperator(state, execution, step.name, attempt);
      const error = describeFailure(state, outcome);
      if (!isRetryableFailure(state, outcome)) {
        await turnToCompensation(state, execution, "step-failed", step.name, attempt, error);
        return;
      }
      if (attempt >= step.retry.maxAttempts) {
        const message = `outcome unknown after ${attempt} attempts: ${error.message}`;
        await turnToCompensation(state, execution, "step-failed", step.name, attempt, { code: error.code, message });
        return;
      }
      if (state.now() >= deadline) {
        await turnToCompensation(state, execution, "step-failed", step.name, attempt, deadlineError());
        return;
      }
      await emit(state, execution, "step-attempt-failed", "RUNNING", step.name, attempt, error);
      if (execution.compensationRequest) return turnByOperator(state, execution, step.name, attempt);
      await pause(state, execution, Math.min(backoffDelay(step.retry, attempt, state.random), Math.max(0, deadline - state.now())));
      if (execution.compensationRequest) return turnByOperator(state, execution, step.name, attempt);
      attempt++;
    }
  }
  // Every action succeeded: the saga is past its pivot. With confirmations to apply, the
  // decision is logged first (the drive then confirms); without, the saga is complete.
  // From here on an operator can no longer force it to compensate.
  if (execution.compensationRequest) return turnByOperator(state, execution, undefined, undefined);
  execution.deciding = true;
  if (hasConfirmations(definition.steps)) await emit(state, execution, "saga-decided", "CONFIRMING");
  else await emit(state, execution, "saga-completed", "COMPLETED");
}

/**
 * Logs the decision to compensate (a step's failure, the saga's deadline, or an operator's
 * request). A resumed saga
 * first arms every step after the last action it knows of: the run before the crash may
 * have sent them while their starts were still carried. The arms are logged with the
 * decision, so every later run (after another crash, or an operator retry) compensates
 * them too; a compensation that reaches a step never sent is recorded by the service and
 * refuses the late action.
 */
export async function turnToCompensation(
  state: RunnerState,
  execution: Execution,
  kind: "step-failed" | "saga-deadline-exceeded" | "saga-compensation-forced",
  stepName: string | undefined,
  attempt: number | undefined,
  error: ErrorInfo,
  operator?: OperatorNote,
): Promise<void> {
  if (execution.resumed) {
    const known = new Set<string>();
    for (const stepRecord of execution.record.steps) if (stepRecord.phase === "action") known.add(stepRecord.name);
    for (const event of execution.carried) if (event.kind === "step-started" && event.step !== undefined) known.add(event.step);
    let lastKnown = -1;
    execution.definition.steps.forEach((step, index) => {
      if (known.has(step.name)) lastKnown = index;
    });
    for (const step of execution.definition.steps.slice(lastKnown + 1)) {
      if (step.compensate) carry(state, execution, "step-started", "RUNNING", step.name, 1);
    }
  }
  await emit(state, execution, kind, "COMPENSATING", stepName, attempt, error, undefined, operator);
}

/** Why a saga forced by an operator compensates, as its record's error says. */
export function forcedCompensationError(note: OperatorNote): ErrorInfo {
  return { code: "ABORTED", message: `compensation forced by ${note.actor}: ${note.reason}` };
}

/**
 * Logs the compensation an operator forced on this driven saga (the step in flight, if any,
 * is compensated like any started step), and answers the operator once that is durable.
 */
async function turnByOperator(state: RunnerState, execution: Execution, stepName: string | undefined, attempt: number | undefined): Promise<void> {
  const request = execution.compensationRequest!;
  execution.compensationRequest = undefined;
  try {
    await turnToCompensation(state, execution, "saga-compensation-forced", stepName, attempt, forcedCompensationError(request.note), request.note);
  } catch (error) {
    request.reject(error instanceof FencedError || error === FENCED ? new SagaTakenOverError(execution.record.sagaId) : error);
    throw error;
  }
  state.log.info({ sagaId: execution.record.sagaId, step: stepName, actor: request.note.actor }, "compensation forced by operator");
  request.resolve(copyRecord(execution.record));
}
