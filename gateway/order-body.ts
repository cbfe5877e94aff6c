import { HttpError } from "./http-errors.js";

/** The JSON order of `POST /saga`, checked for shape and types only (the orchestrator checks values). */
export interface OrderBody {
  customerId: string;
  items: { productId: string; quantity: number }[];
}

/** The seed's `POST /saga` had no body; with none, this order runs. */
export const DEFAULT_ORDER: OrderBody = { customerId: "customer-1", items: [{ productId: "notebook", quantity: 1 }] };

const MAX_ITEMS = 100;

/**
 * Reads the order from a parsed JSON body: `{ customerId, items: [{ productId, quantity }] }`,
 * with no other fields.
 * @throws HttpError 400 naming the field at fault.
 */
export function parseOrderBody(body: unknown): OrderBody {
  const bad = (field: string, problem: string): HttpError => new HttpError(400, `${field}: ${problem}`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("body", "must be a JSON object");
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "customerId" && k !== "items") throw bad(k, "unknown field (expected customerId, items)");
  if (typeof o.customerId !== "string") throw bad("customerId", "must be a string");
  if (!Array.isArray(o.items)) throw bad("items", "must be an array");
  if (o.items.length === 0) throw bad("items", "must hold at least one item");
  if (o.items.length > MAX_ITEMS) throw bad("items", `must hold at most ${MAX_ITEMS} items`);
  const items = o.items.map((raw: unknown, i) => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(`items[${i}]`, "must be an object");
    const it = raw as Record<string, unknown>;
    for (const k of Object.keys(it)) if (k !== "productId" && k !== "quantity") throw bad(`items[${i}].${k}`, "unknown field (expected productId, quantity)");
    if (typeof it.productId !== "string") throw bad(`items[${i}].productId`, "must be a string");
    if (typeof it.quantity !== "number" || !Number.isInteger(it.quantity) || it.quantity < 1 || it.quantity > 10_000) {
      throw bad(`items[${i}].quantity`, "must be an integer from 1 to 10000");
    }
    return { productId: it.productId, quantity: it.quantity };
  });
  return { customerId: o.customerId, items };
}
