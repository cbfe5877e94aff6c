import { Code, ConnectError } from "@connectrpc/connect";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";

/** The purchase breaks the per-order unit limit (FAILED_PRECONDITION). It is recorded REJECTED. */
export class PurchaseRejectedError extends Error {
  override name = "PurchaseRejectedError";
}

/** No purchase record under this key (NOT_FOUND). */
export class PurchaseNotFoundError extends Error {
  override name = "PurchaseNotFoundError";
  constructor(key: string) {
    super(`no purchase under idempotency_key ${JSON.stringify(key)}`);
  }
}

/**
 * The one place where purchases errors become status codes. A `ConnectError` (input
 * validation, demo mode) passes through; anything else is a bug: INTERNAL "internal error",
 * with the cause attached for the server's log and not sent to the caller.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof PurchaseNotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof PurchaseRejectedError || err instanceof CancelledBeforeArrivalError) {
    return new ConnectError(err.message, Code.FailedPrecondition);
  }
  if (err instanceof KeyReusedError) return new ConnectError(err.message, Code.AlreadyExists);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
