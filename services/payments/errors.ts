import { Code, ConnectError } from "@connectrpc/connect";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";

/** No account for this customer (NOT_FOUND). Nothing is recorded. */
export class UnknownCustomerError extends Error {
  override name = "UnknownCustomerError";
  constructor(customerId: string) {
    super(`customer ${JSON.stringify(customerId)} not found`);
  }
}

/** The account cannot cover the amount (FAILED_PRECONDITION). The payment is recorded DECLINED. */
export class PaymentDeclinedError extends Error {
  override name = "PaymentDeclinedError";
}

/** No payment record under this key (NOT_FOUND). */
export class PaymentNotFoundError extends Error {
  override name = "PaymentNotFoundError";
  constructor(key: string) {
    super(`no payment under idempotency_key ${JSON.stringify(key)}`);
  }
}

/**
 * The one place where payments errors become status codes. A `ConnectError` (input
 * validation, demo mode) passes through; anything else is a bug: INTERNAL "internal error",
 * with the cause attached for the server's log and not sent to the caller.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof UnknownCustomerError || err instanceof PaymentNotFoundError) {
    return new ConnectError(err.message, Code.NotFound);
  }
  if (err instanceof PaymentDeclinedError || err instanceof CancelledBeforeArrivalError) {
    return new ConnectError(err.message, Code.FailedPrecondition);
  }
  if (err instanceof KeyReusedError) return new ConnectError(err.message, Code.AlreadyExists);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
