import { checkId, checkLineCount, checkQuantityLines, mergeQuantityLines, type QuantityLine } from "#platform/field-rules.js";
import { HttpError } from "./http-errors.js";

/** The JSON order of `POST /saga`, checked by the system's input rules. */
export interface OrderBody {
  customerId: string;
  items: QuantityLine[];
}

/** The seed's `POST /saga` had no body; with none, this order runs. */
export const DEFAULT_ORDER: OrderBody = { customerId: "customer-1", items: [{ productId: "notebook", quantity: 1 }] };

/** The JSON spelling of a line's fields, for the messages. */
const JSON_LINE_FIELDS = { productId: "productId", quantity: "quantity" } as const;

/**
 * Reads the order from a parsed JSON body: `{ customerId, items: [{ productId, quantity }] }`,
 * with no other fields. The gateway checks the JSON shape here and the values by the same
 * rules the orchestrator applies (`#platform/field-rules`), naming fields as the body spells
 * them, so an order it passes on is one the orchestrator accepts.
 * @throws HttpError 400 (shape) or ConnectError INVALID_ARGUMENT (values), naming the field at fault.
 */
export function parseOrderBody(body: unknown): OrderBody {
  const bad = (field: string, problem: string): HttpError => new HttpError(400, `${field}: ${problem}`);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("body", "must be a JSON object");
  const o = body as Record<string, unknown>;
  for (const k of Object.keys(o)) if (k !== "customerId" && k !== "items") throw bad(k, "unknown field (expected customerId, items)");
  if (typeof o.customerId !== "string") throw bad("customerId", "must be a string");
  if (!Array.isArray(o.items)) throw bad("items", "must be an array");
  checkLineCount(o.items.length, "items");
  const lines = o.items.map((raw: unknown, i): QuantityLine => {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad(`items[${i}]`, "must be an object");
    const it = raw as Record<string, unknown>;
    for (const k of Object.keys(it))
      if (k !== "productId" && k !== "quantity") throw bad(`items[${i}].${k}`, "unknown field (expected productId, quantity)");
    if (typeof it.productId !== "string") throw bad(`items[${i}].productId`, "must be a string");
    if (typeof it.quantity !== "number") throw bad(`items[${i}].quantity`, "must be a number");
    return { productId: it.productId, quantity: it.quantity };
  });
  const customerId = checkId(o.customerId, "customerId");
  return { customerId, items: mergeQuantityLines(checkQuantityLines(lines, "items", JSON_LINE_FIELDS), "items") };
}
