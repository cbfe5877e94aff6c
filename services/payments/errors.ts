import { NotFoundError, RefusedError } from "#platform/domain-errors.js";

/** No account for this customer (NOT_FOUND). Nothing is recorded. */
export class UnknownCustomerError extends NotFoundError {
  override name = "UnknownCustomerError";
  constructor(customerId: string) {
    super(`customer ${JSON.stringify(customerId)} not found`);
  }
}

/** The available amount cannot cover the authorization (FAILED_PRECONDITION). The payment is recorded DECLINED. */
export class PaymentDeclinedError extends RefusedError {
  override name = "PaymentDeclinedError";
}

/** No payment record under this key (NOT_FOUND). */
export class PaymentNotFoundError extends NotFoundError {
  override name = "PaymentNotFoundError";
  constructor(key: string) {
    super(`no payment under idempotency_key ${JSON.stringify(key)}`);
  }
}
