/**
 * The order a saga runs: a customer and the lines they ask for. Plain JSON, so it can be
 * journaled as the saga's input.
 */
export interface OrderInput {
  readonly customerId: string;
  readonly items: readonly OrderItem[];
}

export interface OrderItem {
  readonly productId: string;
  readonly quantity: number;
}

/** Limits of one order, shared by the gateway's and the orchestrator's checks. */
export const ORDER_LIMITS = { maxItems: 100, maxQuantity: 10_000, maxIdLength: 128, maxKeyLength: 200 } as const;

/** A field of an order (or of the request around it) that is not acceptable. */
export class OrderFieldError extends Error {
  override name = "OrderFieldError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

const ID = /^[\x21-\x7e]+$/;

/** Checks an id: 1..128 printable ASCII characters, no spaces or control characters. */
export function checkId(field: string, value: string, maxLength: number = ORDER_LIMITS.maxIdLength): void {
  if (value.length === 0) throw new OrderFieldError(field, "must not be empty");
  if (value.length > maxLength) throw new OrderFieldError(field, `must be at most ${maxLength} characters`);
  if (!ID.test(value)) throw new OrderFieldError(field, "must be printable ASCII without spaces");
}

/**
 * Validates an order and returns it normalised: lines of the same product merged (in order of
 * first appearance), so every service sees each product once.
 * @throws OrderFieldError naming the first field at fault.
 */
export function normaliseOrder(order: { customerId: string; items: readonly { productId: string; quantity: number }[] }): OrderInput {
  checkId("customer_id", order.customerId);
  if (order.items.length === 0) throw new OrderFieldError("items", "must hold at least one item");
  if (order.items.length > ORDER_LIMITS.maxItems) throw new OrderFieldError("items", `must hold at most ${ORDER_LIMITS.maxItems} items`);
  const merged = new Map<string, number>();
  order.items.forEach((item, i) => {
    checkId(`items[${i}].product_id`, item.productId);
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > ORDER_LIMITS.maxQuantity) {
      throw new OrderFieldError(`items[${i}].quantity`, `must be an integer from 1 to ${ORDER_LIMITS.maxQuantity}`);
    }
    merged.set(item.productId, (merged.get(item.productId) ?? 0) + item.quantity);
  });
  const items: OrderItem[] = [];
  for (const [productId, quantity] of merged) {
    if (quantity > ORDER_LIMITS.maxQuantity) throw new OrderFieldError(`items (${productId})`, `total quantity must be at most ${ORDER_LIMITS.maxQuantity}`);
    items.push({ productId, quantity });
  }
  return { customerId: order.customerId, items };
}

/** A stable text of an order, compared when an idempotency key is reused. */
export function orderFingerprint(order: OrderInput): string {
  return JSON.stringify([order.customerId, order.items.map((i) => [i.productId, i.quantity])]);
}
