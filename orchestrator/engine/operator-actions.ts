/**
 * What an operator can do to a saga the runner could not finish on its own.
 */
import { SagaNotFoundError, SagaStateError, UnknownDefinitionError } from "./errors.js";
import { newExecution } from "./execution.js";
import type { RunnerState } from "./runner-state.js";
import { copyRecord, foldSaga, type SagaRecord } from "./saga-record.js";
import { emit } from "./saga-log-writer.js";
import { launch, wakeIdleIfIdle } from "./saga-lifecycle.js";

/**
 * A NEEDS_ATTENTION saga is driven again with a fresh budget: back to CONFIRMING if it was
 * decided (a confirmation ran out of attempts), else back to COMPENSATING. Resolves once
 * that is durable.
 * @throws SagaNotFoundError, SagaStateError (not NEEDS_ATTENTION, or runner closed), UnknownDefinitionError.
 */
export async function retrySaga(state: RunnerState, sagaId: string): Promise<SagaRecord> {
  if (state.closed) throw new SagaStateError(sagaId, "the saga runner is closed");
  // A saga that has just turned NEEDS_ATTENTION may still be winding down its drive.
  if (state.executions.get(sagaId)?.record.status === "NEEDS_ATTENTION") await state.driveBySaga.get(sagaId);
  if (state.executions.has(sagaId)) throw new SagaStateError(sagaId, `saga ${sagaId} is being driven`);
  const stored = await state.store.load(sagaId);
  if (!stored) throw new SagaNotFoundError(sagaId);
  const record = foldSaga(stored.header, stored.events);
  if (record.status !== "NEEDS_ATTENTION") {
    throw new SagaStateError(sagaId, `saga ${sagaId} is ${record.status}, not NEEDS_ATTENTION`);
  }
  const definition = state.definitions.exact(record.definitionName, record.definitionVersion);
  if (!definition) throw new UnknownDefinitionError(record.definitionName, record.definitionVersion);
  if (state.executions.has(sagaId)) throw new SagaStateError(sagaId, `saga ${sagaId} is being driven`);
  const execution = newExecution(definition, record, stored.events.length, false);
  state.executions.set(sagaId, execution);
  try {
    await emit(state, execution, "saga-retried", record.decidedAt === undefined ? "COMPENSATING" : "CONFIRMING");
  } catch (error) {
    state.executions.delete(sagaId);
    wakeIdleIfIdle(state);
    throw error;
  }
  state.log.info({ sagaId, status: record.status }, "saga retried by operator");
  const snapshot = copyRecord(record);
  state.executions.delete(sagaId);
  if (!state.closed) launch(state, execution);
  return snapshot;
}
