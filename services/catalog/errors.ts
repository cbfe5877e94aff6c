import { Code, ConnectError } from "@connectrpc/connect";
import { domainErrorToConnect } from "#platform/domain-error-to-connect.js";

/** No such product (NOT_FOUND); the message names it. */
export class UnknownProductError extends Error {
  override name = "UnknownProductError";
  constructor(productId: string) {
    super(`product ${JSON.stringify(productId)} not found`);
  }
}

/** The order's total is above what one payment may carry (INVALID_ARGUMENT on `lines`). */
export class OrderTooLargeError extends Error {
  override name = "OrderTooLargeError";
}

/**
 * The one place where catalog errors become status codes. A `ConnectError` (input
 * validation, demo mode) passes through; anything else goes to the platform's mapper: a lost
 * database connection is UNAVAILABLE (retryable), any other error a bug, INTERNAL "internal
 * error", with the cause attached for the server's log and not sent to the caller.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof UnknownProductError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof OrderTooLargeError) return new ConnectError(`lines: ${err.message}`, Code.InvalidArgument);
  return domainErrorToConnect(err);
}
