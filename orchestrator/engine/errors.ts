/**
 * Errors the saga engine throws to its callers. Each is a distinct class so handlers can
 * map it to a status code with `instanceof`, never by parsing messages.
 */

/** An idempotency key was reused with a different request (fingerprint or definition). Maps to ALREADY_EXISTS. */
export class IdempotencyConflictError extends Error {
  override name = "IdempotencyConflictError";
  constructor(
    readonly idempotencyKey: string,
    readonly sagaId: string,
  ) {
    super(`idempotency key "${idempotencyKey}" was already used by saga ${sagaId} with a different request`);
  }
}

/** `start()` was refused because `maxInFlight` sagas are already running. Maps to RESOURCE_EXHAUSTED. */
export class SagaLimitError extends Error {
  override name = "SagaLimitError";
  constructor(readonly limit: number) {
    super(`too many sagas in flight (limit ${limit})`);
  }
}

/** The saga is not in a state that allows the operation (e.g. `retry()` of a saga that is not NEEDS_ATTENTION, or the runner is closed). Maps to FAILED_PRECONDITION. */
export class SagaStateError extends Error {
  override name = "SagaStateError";
  constructor(
    readonly sagaId: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * An operator action (retry, forced compensation, resolution) without a usable actor or
 * reason: every such action is recorded with who took it and why. Maps to INVALID_ARGUMENT.
 */
export class InvalidOperatorNoteError extends Error {
  override name = "InvalidOperatorNoteError";
  constructor(
    readonly field: "actor" | "reason",
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

/**
 * Another replica took the saga over while this one was acting on it (its epoch moved on), so
 * the operator's action was not logged here. A `SagaStateError` too; maps to ABORTED: trying
 * again acts on the saga as it is now.
 */
export class SagaTakenOverError extends SagaStateError {
  override name = "SagaTakenOverError";
  constructor(sagaId: string) {
    super(sagaId, `saga ${sagaId} was taken over by another replica before the action was logged; nothing was done: try again`);
  }
}

/** No saga with this id exists. A `SagaStateError` too; maps to NOT_FOUND. */
export class SagaNotFoundError extends SagaStateError {
  override name = "SagaNotFoundError";
  constructor(sagaId: string) {
    super(sagaId, `saga ${sagaId} not found`);
  }
}

/** No registered definition has this name (and version, when given). Maps to NOT_FOUND / FAILED_PRECONDITION. */
export class UnknownDefinitionError extends Error {
  override name = "UnknownDefinitionError";
  constructor(
    readonly definitionName: string,
    readonly definitionVersion?: number,
  ) {
    super(
      definitionVersion === undefined
        ? `no saga definition named "${definitionName}"`
        : `no saga definition "${definitionName}" version ${definitionVersion}`,
    );
  }
}

/** A page token that this engine did not issue (or that is corrupt); defined with the one token format. Maps to INVALID_ARGUMENT. */
export { InvalidPageTokenError } from "#platform/page-token.js";

/** A saga definition or step is malformed (duplicate step names, bad retry numbers…). Thrown at definition time, i.e. at boot. */
export class SagaDefinitionError extends Error {
  override name = "SagaDefinitionError";
}

/** A step's action or compensation did not answer within its `timeoutMs`. The runner treats it as transient: the outcome is unknown. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError";
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
  ) {
    super(`step "${step}" did not answer within ${timeoutMs} ms`);
  }
}
