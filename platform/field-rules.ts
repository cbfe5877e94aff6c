import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Input rules shared by every service's handlers. Each check throws INVALID_ARGUMENT with a
 * message that starts with the field at fault (`lines[2].quantity: must be between 1 and
 * 10000`), so a caller can tell what to fix. Handlers run these before anything changes.
 */

/** Longest id (customer, product, idempotency key), in characters. */
export const MAX_ID_LENGTH = 128;
/** Most lines one request may carry. */
export const MAX_LINES = 100;
/** Largest quantity of one line. */
export const MAX_QUANTITY = 10_000;
/** Largest amount of money in one field: 10^12 cents. */
export const MAX_AMOUNT_CENTS = 1_000_000_000_000;
/** Largest page a list RPC returns. */
export const MAX_PAGE_SIZE = 1000;
/** The page size used when a request asks for 0. */
export const DEFAULT_PAGE_SIZE = 100;

/** INVALID_ARGUMENT naming `field`. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

const PRINTABLE_NO_SPACE = /^[\x21-\x7e]+$/;

/**
 * An id: 1..128 characters of printable ASCII without spaces (no control characters, no
 * unicode), so it is safe in logs, keys and URLs.
 * @throws ConnectError INVALID_ARGUMENT naming `field`.
 */
export function checkId(value: string, field: string): string {
  if (value.length === 0) throw invalidArgument(field, "must not be empty");
  if (value.length > MAX_ID_LENGTH) throw invalidArgument(field, `must be at most ${MAX_ID_LENGTH} characters`);
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
 * @throws ConnectError INVALID_ARGUMENT naming `page_size`.
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

/**
 * The lines of an order-like request: 1..100 lines, each with a valid `product_id` and a
 * `quantity` in 1..10000. Returns plain `{ productId, quantity }` objects.
 * @throws ConnectError INVALID_ARGUMENT naming the line and field, e.g. `lines[2].quantity`.
 */
export function checkQuantityLines(lines: readonly QuantityLine[], field = "lines"): QuantityLine[] {
  checkLineCount(lines.length, field);
  return lines.map((l, i) => ({
    productId: checkId(l.productId, `${field}[${i}].product_id`),
    quantity: checkQuantity(l.quantity, `${field}[${i}].quantity`),
  }));
}
