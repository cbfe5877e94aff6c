import { checkId, checkQuantityLines, mergeQuantityLines } from "#platform/field-rules.js";

/**
 * The order a saga runs: a customer and the lines they ask for. Plain JSON, so it can be
 * journaled as the saga's input.
 */
export interface OrderInput {
  readonly customerId: string;
  readonly items: readonly OrderItem[];
}

/** One line of an order. */
export interface OrderItem {
  readonly productId: string;
  readonly quantity: number;
}

/**
 * Checks an order by the system's input rules (`#platform/field-rules`) and returns it
 * normalised: lines of the same product merged (in order of first appearance), so every
 * service sees each product once.
 * @throws ConnectError INVALID_ARGUMENT naming the first field at fault, in proto spelling.
 */
export function normaliseOrder(order: { customerId: string; items: readonly OrderItem[] }): OrderInput {
  const customerId = checkId(order.customerId, "customer_id");
  const items = mergeQuantityLines(checkQuantityLines(order.items, "items"), "items");
  return { customerId, items };
}

/** A stable text of an order, compared when an idempotency key is reused. */
export function orderFingerprint(order: OrderInput): string {
  return JSON.stringify([order.customerId, order.items.map((i) => [i.productId, i.quantity])]);
}
