import { Code, ConnectError } from "@connectrpc/connect";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";

/** No such product in stock (NOT_FOUND). Nothing is recorded. */
export class UnknownProductError extends Error {
  override name = "UnknownProductError";
  constructor(productId: string) {
    super(`product ${JSON.stringify(productId)} not found`);
  }
}

/** Some product has fewer units than asked (FAILED_PRECONDITION). The take is recorded REJECTED. */
export class InsufficientStockError extends Error {
  override name = "InsufficientStockError";
}

/**
 * The one place where inventory errors become status codes. A `ConnectError` (input
 * validation, demo mode) passes through; anything else is a bug: INTERNAL "internal error",
 * with the cause attached for the server's log and not sent to the caller.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof UnknownProductError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof InsufficientStockError || err instanceof CancelledBeforeArrivalError) {
    return new ConnectError(err.message, Code.FailedPrecondition);
  }
  if (err instanceof KeyReusedError) return new ConnectError(err.message, Code.AlreadyExists);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
