/**
 * Starting a saga: the idempotency key maps to exactly one saga, its creation is durable
 * before any step is sent, and then it is driven in the background.
 */
import { createHash } from "node:crypto";
import { IdempotencyConflictError, SagaLimitError, SagaStateError, UnknownDefinitionError } from "./errors.js";
import { newExecution } from "./execution.js";
import type { RunnerState } from "./runner-state.js";
import type { StartRequest } from "./runner.js";
import { copyRecord, foldSaga, type SagaEvent, type SagaHeader, type SagaRecord } from "./saga-record.js";
import { launch, wakeIdleIfIdle } from "./saga-lifecycle.js";
import { CREATED_EPOCH } from "./saga-ownership.js";

/**
 * Starts a saga on the highest registered version of `definitionName`, or returns the saga
 * that already holds the idempotency key (`created: false`).
 * @throws UnknownDefinitionError, IdempotencyConflictError, SagaLimitError, SagaStateError (closed), or the store's error.
 */
export async function startSaga(state: RunnerState, definitionName: string, request: StartRequest): Promise<{ saga: SagaRecord; created: boolean }> {
  const definition = state.definitions.latest(definitionName);
  if (!definition) throw new UnknownDefinitionError(definitionName);
  if (state.closed) throw new SagaStateError("", "the saga runner is closed");
  if (state.executions.size + state.pendingStarts >= state.maxInFlight) throw new SagaLimitError(state.maxInFlight);
  const sagaId = state.newId();
  const key = request.idempotencyKey ?? "";
  const fingerprint = request.fingerprint ?? (key === "" ? "" : createHash("sha256").update(JSON.stringify(request.input)).digest("base64url"));
  const header: SagaHeader = {
    sagaId,
    idempotencyKey: key === "" ? sagaId : key,
    fingerprint,
    definitionName: definition.name,
    definitionVersion: definition.version,
    input: request.input,
    createdAt: state.now(),
  };
  const first: SagaEvent = { sagaId, sequence: 1, kind: "saga-created", status: "RUNNING", at: header.createdAt };
  if (request.traceContext) first.output = request.traceContext;
  state.pendingStarts++;
  let result;
  try {
    // Among replicas, the saga is this one's from its creation: no other claims it while it runs here.
    result = state.owner
      ? await state.owner.port.createOwned(header, first, state.owner.replicaId, state.owner.leaseMs)
      : await state.store.create(header, first);
  } catch (error) {
    state.pendingStarts--;
    wakeIdleIfIdle(state);
    throw error;
  }
  state.pendingStarts--;
  if (!result.created || state.closed) wakeIdleIfIdle(state);
  if (!result.created) {
    const existing = foldSaga(result.existing.header, result.existing.events);
    if (existing.fingerprint !== fingerprint || existing.definitionName !== definition.name) {
      throw new IdempotencyConflictError(key, existing.sagaId);
    }
    return { saga: existing, created: false };
  }
  const record = foldSaga(header, [first]);
  state.metrics?.logged(definition.name, first);
  state.events.publish(first);
  if (state.closed) return { saga: copyRecord(record), created: true }; // resumes on next boot
  // An operator action that read the saga the moment it was created holds it, and drives it on.
  const owned = state.owner && { epoch: CREATED_EPOCH, since: state.owner.generation };
  if (!state.executions.has(sagaId)) launch(state, newExecution(definition, record, 1, false, owned));
  return { saga: copyRecord(record), created: true };
}
