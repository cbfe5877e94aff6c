/**
 * What an operator can do to a saga the runner could not (or should not) finish on its own:
 * retry it, force it to compensate, or mark it resolved by hand. Each names who acts and
 * why, and that note is logged with the action, so the saga's history says who did what.
 */
import { InvalidOperatorNoteError, SagaNotFoundError, SagaStateError, SagaTakenOverError, UnknownDefinitionError } from "./errors.js";
import { FencedError } from "./saga-ownership.js";
import { forcedCompensationError, turnToCompensation } from "./action-driver.js";
import { type Execution, newExecution } from "./execution.js";
import { FENCED, type RunnerState } from "./runner-state.js";
import { copyRecord, foldSaga, type OperatorNote, type SagaRecord } from "./saga-record.js";
import { emit } from "./saga-log-writer.js";
import { launch, wakeIdleIfIdle } from "./saga-lifecycle.js";
import { interruptExecution } from "./step-call.js";

/** Longest actor an operator note may name, in characters. */
export const MAX_ACTOR_LENGTH = 200;
/** Longest reason an operator note may give, in characters. */
export const MAX_REASON_LENGTH = 2_000;

/**
 * The note, trimmed, if both fields are usable.
 * @throws InvalidOperatorNoteError naming the field that is missing, empty or too long.
 */
export function checkOperatorNote(note: Partial<OperatorNote> | undefined): OperatorNote {
  const field = (name: "actor" | "reason", max: number): string => {
    const value = note?.[name];
    if (typeof value !== "string" || value.trim() === "") throw new InvalidOperatorNoteError(name, "is required (who acts, and why)");
    if (value.length > max) throw new InvalidOperatorNoteError(name, `is longer than ${max} characters`);
    return value.trim();
  };
  return { actor: field("actor", MAX_ACTOR_LENGTH), reason: field("reason", MAX_REASON_LENGTH) };
}

/**
 * A NEEDS_ATTENTION saga is driven again with a fresh budget: back to CONFIRMING if it was
 * decided (a confirmation ran out of attempts), else back to COMPENSATING. Resolves once
 * that is durable.
 * @throws InvalidOperatorNoteError, SagaNotFoundError, SagaStateError (not NEEDS_ATTENTION, or runner closed), UnknownDefinitionError.
 */
export async function retrySaga(state: RunnerState, sagaId: string, note: OperatorNote): Promise<SagaRecord> {
  const checked = checkOperatorNote(note);
  const { record, execution } = await takeStopped(state, sagaId, (found) => {
    if (found.status !== "NEEDS_ATTENTION") throw new SagaStateError(sagaId, `saga ${sagaId} is ${found.status}, not NEEDS_ATTENTION`);
  });
  const status = record.decidedAt === undefined ? "COMPENSATING" : "CONFIRMING";
  await logOrLetGo(state, execution, () => emit(state, execution, "saga-retried", status, undefined, undefined, undefined, undefined, checked));
  state.log.info({ sagaId, status, actor: checked.actor, reason: checked.reason }, "saga retried by operator");
  return driveOn(state, execution);
}

/**
 * Forces a saga that has not passed its pivot to compensate: a RUNNING saga (its call in
 * flight is cut short and compensated like any started step), or a NEEDS_ATTENTION saga
 * whose compensation ran out of attempts (its compensations run again). Resolves once the
 * turn is durable. A decided saga (CONFIRMING, or NEEDS_ATTENTION in its confirmations) can
 * never compensate.
 * @throws InvalidOperatorNoteError, SagaNotFoundError, SagaStateError (decided, already compensating, finished, or runner closed), UnknownDefinitionError.
 */
export async function forceCompensation(state: RunnerState, sagaId: string, note: OperatorNote): Promise<SagaRecord> {
  const checked = checkOperatorNote(note);
  if (state.closed) throw new SagaStateError(sagaId, "the saga runner is closed");
  await windDown(state, sagaId);
  const driven = state.executions.get(sagaId);
  if (driven) {
    if (driven.record.status !== "RUNNING" || driven.deciding) throw notCompensable(sagaId, driven.record, driven.deciding);
    if (driven.compensationRequest) throw new SagaStateError(sagaId, `saga ${sagaId} is already being forced to compensate`);
    const answered = new Promise<SagaRecord>((resolve, reject) => (driven.compensationRequest = { note: checked, resolve, reject }));
    interruptExecution(driven);
    return answered;
  }
  const { record, execution } = await takeStopped(
    state,
    sagaId,
    (found) => {
      if (found.decidedAt !== undefined || (found.status !== "RUNNING" && found.status !== "NEEDS_ATTENTION")) {
        throw notCompensable(sagaId, found, false);
      }
    },
    // A RUNNING saga not driven here was cut off by a crash or a close: its log may end
    // before steps it sent, so it is armed as a resumed saga is.
    (found) => found.status === "RUNNING",
  );
  await logOrLetGo(state, execution, () =>
    record.status === "RUNNING"
      ? turnToCompensation(state, execution, "saga-compensation-forced", undefined, undefined, forcedCompensationError(checked), checked)
      : emit(state, execution, "saga-compensation-forced", "COMPENSATING", undefined, undefined, undefined, undefined, checked),
  );
  state.log.info({ sagaId, actor: checked.actor, reason: checked.reason }, "compensation forced by operator");
  return driveOn(state, execution);
}

/**
 * Marks a NEEDS_ATTENTION saga RESOLVED: an operator settled it by hand (a terminal status of
 * its own, since the engine can vouch neither that its steps were undone nor that they were
 * confirmed). Nothing more is called. Resolves once that is durable.
 * @throws InvalidOperatorNoteError, SagaNotFoundError, SagaStateError (not NEEDS_ATTENTION, or runner closed), UnknownDefinitionError.
 */
export async function resolveSaga(state: RunnerState, sagaId: string, note: OperatorNote): Promise<SagaRecord> {
  const checked = checkOperatorNote(note);
  const { execution } = await takeStopped(state, sagaId, (found) => {
    if (found.status !== "NEEDS_ATTENTION") throw new SagaStateError(sagaId, `saga ${sagaId} is ${found.status}, not NEEDS_ATTENTION`);
  });
  await logOrLetGo(state, execution, () => emit(state, execution, "saga-resolved", "RESOLVED", undefined, undefined, undefined, undefined, checked));
  state.log.info({ sagaId, actor: checked.actor, reason: checked.reason }, "saga resolved by operator");
  const snapshot = copyRecord(execution.record);
  state.executions.delete(sagaId);
  wakeIdleIfIdle(state);
  return snapshot;
}

/** A saga that has just turned NEEDS_ATTENTION may still be winding down its drive: waits for it. */
async function windDown(state: RunnerState, sagaId: string): Promise<void> {
  if (state.executions.get(sagaId)?.record.status === "NEEDS_ATTENTION") await state.driveBySaga.get(sagaId);
}

/**
 * Loads a saga no drive holds, checks it with `allow`, and holds it (as an execution) for an
 * operator action, so no drive or other action takes it meanwhile.
 */
async function takeStopped(
  state: RunnerState,
  sagaId: string,
  allow: (record: SagaRecord) => void,
  resumed: (record: SagaRecord) => boolean = () => false,
): Promise<{ record: SagaRecord; execution: Execution }> {
  if (state.closed) throw new SagaStateError(sagaId, "the saga runner is closed");
  await windDown(state, sagaId);
  if (state.executions.has(sagaId)) throw new SagaStateError(sagaId, `saga ${sagaId} is being driven`);
  let stored = await state.store.load(sagaId);
  if (!stored) throw new SagaNotFoundError(sagaId);
  let record = foldSaga(stored.header, stored.events);
  allow(record);
  const definition = state.definitions.exact(record.definitionName, record.definitionVersion);
  if (!definition) throw new UnknownDefinitionError(record.definitionName, record.definitionVersion);
  let owned: { epoch: number; since: number } | undefined;
  const owner = state.owner;
  if (owner) {
    // Among replicas: the saga becomes this one's (its epoch moves on, so a replica still
    // driving it writes nothing more), then it is read again, since it may have moved on.
    const since = owner.generation;
    const claim = await owner.port.take(sagaId, owner.replicaId, owner.leaseMs);
    stored = claim && (await state.store.load(sagaId));
    if (!claim || !stored) throw new SagaNotFoundError(sagaId);
    record = foldSaga(stored.header, stored.events);
    allow(record);
    owned = { epoch: claim.epoch, since };
  }
  if (state.executions.has(sagaId)) throw new SagaStateError(sagaId, `saga ${sagaId} is being driven`);
  const execution = newExecution(definition, record, stored.events.length, resumed(record), owned);
  state.executions.set(sagaId, execution);
  return { record, execution };
}

/** Runs the action's write; if it fails, lets the saga go (as it was) and rethrows. */
async function logOrLetGo(state: RunnerState, execution: Execution, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (state.executions.get(execution.record.sagaId) === execution) state.executions.delete(execution.record.sagaId);
    wakeIdleIfIdle(state);
    throw error instanceof FencedError || error === FENCED ? new SagaTakenOverError(execution.record.sagaId) : error;
  }
}

/** Hands a held saga to a drive (unless the runner closed: it resumes at next boot); returns it as logged. */
function driveOn(state: RunnerState, execution: Execution): SagaRecord {
  const snapshot = copyRecord(execution.record);
  state.executions.delete(execution.record.sagaId);
  if (!state.closed) launch(state, execution);
  else wakeIdleIfIdle(state);
  return snapshot;
}

function notCompensable(sagaId: string, record: SagaRecord, deciding: boolean): SagaStateError {
  if (deciding || record.decidedAt !== undefined) {
    return new SagaStateError(sagaId, `saga ${sagaId} is decided (${record.status}): it passed its pivot and can no longer compensate`);
  }
  return new SagaStateError(
    sagaId,
    `saga ${sagaId} is ${record.status}: only a RUNNING saga, or one NEEDS_ATTENTION during compensation, can be forced to compensate`,
  );
}
