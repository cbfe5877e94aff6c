import { NotFoundError, RefusedError } from "#platform/domain-errors.js";

/** The purchase breaks the per-order unit limit (FAILED_PRECONDITION). It is recorded REJECTED. */
export class PurchaseRejectedError extends RefusedError {
  override name = "PurchaseRejectedError";
}

/** No purchase record under this key (NOT_FOUND). */
export class PurchaseNotFoundError extends NotFoundError {
  override name = "PurchaseNotFoundError";
  constructor(key: string) {
    super(`no purchase under idempotency_key ${JSON.stringify(key)}`);
  }
}
