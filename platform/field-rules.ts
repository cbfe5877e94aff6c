import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The input rules of the whole system, in one place: the services' handlers, the
 * orchestrator's order input and the gateway all check ids, quantities, lines, amounts and
 * page sizes here, so a value one of them accepts is a value every other one accepts. Each
 * check throws INVALID_ARGUMENT with a message that starts with the field at fault
 * (`lines[2].quantity: must be between 1 and 10000`), named as the caller's client wrote it
 * (`product_id` over gRPC, `productId` in the gateway's JSON), and runs before anything changes.
 */

/** Longest id (customer, product, a step's idempotency key), in characters. */
export const MAX_ID_LENGTH = 128;
/**
 * Longest saga-level key (a client's `Idempotency-Key`, a saga id), in characters: longer than
 * an id, so a step's key `<sagaId>:<step>` can be built from a client's key.
 */
export const MAX_KEY_LENGTH = 200;
/** Most lines one request (or order) may carry. */
export const MAX_LINES = 100;
/** Largest quantity of one line, and of one product over an order's lines. */
export const MAX_QUANTITY = 10_000;
/** Largest amount of money in one field: 10^12 cents. */
export const MAX_AMOUNT_CENTS = 1_000_000_000_000;
/** Largest page a list returns. */
export const MAX_PAGE_SIZE = 1000;
/** The page size used when a request asks for 0. */
export const DEFAULT_PAGE_SIZE = 100;

/** INVALID_ARGUMENT naming `field`: the one error every input rule throws. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

const PRINTABLE_NO_SPACE = /^[\x21-\x7e]+$/;

/**
 * An id or key: 1..`maxLength` characters of printable ASCII without spaces (no control
 * characters, no unicode), so it is safe in logs, keys and URLs.
 * @throws ConnectError INVALID_ARGUMENT naming `field`.
 */
export function checkId(value: string, field: string, maxLength: number = MAX_ID_LENGTH): string {
  if (value.length === 0) throw invalidArgument(field, "must not be empty");
  if (value.length > maxLength) throw invalidArgument(field, `must be at most ${maxLength} characters`);
  if (!PRINTABLE_NO_SPACE.test(value)) throw invalidArgument(field, "must be printable ASCII without spaces");
  return value;
}

/**
 * The number of lines of a request: 1..100.
 * @throws ConnectError INVALID_ARGUMENT naming `field`.
 */
export function checkLineCount(count: number, field = "lines"): number {
  if (count === 0) throw invalidArgument(field, "must not be empty");
  if (count > MAX_LINES) throw invalidArgument(field, `must have at most ${MAX_LINES} lines`);
  return count;
}

/**
 * A quantity of one line: an integer in 1..10000.
 * @throws ConnectError INVALID_ARGUMENT naming `field`.
 */
export function checkQuantity(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_QUANTITY) {
    throw invalidArgument(field, `must be between 1 and ${MAX_QUANTITY}`);
  }
  return value;
}

/**
 * An amount of money from an int64 field: 1..10^12 cents, returned as a safe `number`.
 * @throws ConnectError INVALID_ARGUMENT naming `field`.
 */
export function checkCents(value: bigint, field: string): number {
  if (value < 1n || value > BigInt(MAX_AMOUNT_CENTS)) {
    throw invalidArgument(field, `must be between 1 and ${MAX_AMOUNT_CENTS}`);
  }
  return Number(value);
}

/**
 * The page size of a list request: 0..1000, where 0 means 100.
 * @throws ConnectError INVALID_ARGUMENT naming `field`.
 */
export function checkPageSize(value: number, field = "page_size"): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_PAGE_SIZE) {
    throw invalidArgument(field, `must be between 0 and ${MAX_PAGE_SIZE}`);
  }
  return value === 0 ? DEFAULT_PAGE_SIZE : value;
}

/** A line as every order-like request carries it. */
export interface QuantityLine {
  readonly productId: string;
  readonly quantity: number;
}

/** How a caller's clients spell a line's two fields, for the messages. */
export interface LineFieldNames {
  readonly productId: string;
  readonly quantity: string;
}

/** The proto spelling of a line's fields. */
export const PROTO_LINE_FIELDS: LineFieldNames = { productId: "product_id", quantity: "quantity" };

/**
 * The lines of an order-like request: 1..100 lines, each with a valid product id and a
 * quantity in 1..10000. Returns plain `{ productId, quantity }` objects.
 * @throws ConnectError INVALID_ARGUMENT naming the line and field, e.g. `lines[2].quantity`.
 */
export function checkQuantityLines(lines: readonly QuantityLine[], field = "lines", names: LineFieldNames = PROTO_LINE_FIELDS): QuantityLine[] {
  checkLineCount(lines.length, field);
  return lines.map((l, i) => ({
    productId: checkId(l.productId, `${field}[${i}].${names.productId}`),
    quantity: checkQuantity(l.quantity, `${field}[${i}].${names.quantity}`),
  }));
}

/**
 * Checked lines with the lines of one product merged into one (in order of first
 * appearance), so each product is priced, charged and taken once; a product's total obeys the
 * same 1..10000 bound as one line.
 * @throws ConnectError INVALID_ARGUMENT naming the product, e.g. `items (mouse)`.
 */
export function mergeQuantityLines(lines: readonly QuantityLine[], field = "lines"): QuantityLine[] {
  const merged = new Map<string, number>();
  for (const line of lines) merged.set(line.productId, (merged.get(line.productId) ?? 0) + line.quantity);
  return [...merged].map(([productId, quantity]) => {
    if (quantity > MAX_QUANTITY) throw invalidArgument(`${field} (${productId})`, `total quantity must be at most ${MAX_QUANTITY}`);
    return { productId, quantity };
  });
}
