import { NotFoundError, RefusedError } from "#platform/domain-errors.js";

/** No such product in stock (NOT_FOUND). Nothing is recorded. */
export class UnknownProductError extends NotFoundError {
  override name = "UnknownProductError";
  constructor(productId: string) {
    super(`product ${JSON.stringify(productId)} not found`);
  }
}

/** Some product has fewer available units than asked (FAILED_PRECONDITION). The reservation is recorded REJECTED. */
export class InsufficientStockError extends RefusedError {
  override name = "InsufficientStockError";
}
