import { invalidArgument } from "./field-rules.js";

/**
 * Keyset paging for list RPCs ordered by a unique string key. The page token is opaque to
 * callers (base64url of a small JSON object); inside, it holds the last key of the previous
 * page, so a page never skips or repeats a row when rows are added meanwhile.
 */

interface TokenBody {
  v: 1;
  after: string;
}

/** The token that resumes a listing after `lastKey`. */
export function encodePageToken(lastKey: string): string {
  const body: TokenBody = { v: 1, after: lastKey };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/**
 * The key to resume after, or `undefined` for the first page (empty token).
 * @throws ConnectError INVALID_ARGUMENT `page_token: …` for a token this code did not make.
 */
export function decodePageToken(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  const bad = () => invalidArgument(field, "is not a token from a previous response");
  if (token.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (typeof body !== "object" || body === null) throw bad();
  const { v, after } = body as Partial<TokenBody>;
  if (v !== 1 || typeof after !== "string" || after === "") throw bad();
  if (encodePageToken(after) !== token) throw bad();
  return after;
}

/** One page of rows and the token of the next page ("" on the last page). */
export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken: string;
}

/**
 * Cuts `rows` (read with limit `pageSize + 1`) into one page and the next page's token.
 */
export function toPage<T>(rows: T[], pageSize: number, keyOf: (row: T) => string): Page<T> {
  if (rows.length <= pageSize) return { items: rows, nextPageToken: "" };
  const items = rows.slice(0, pageSize);
  const last = items[items.length - 1];
  return { items, nextPageToken: last === undefined ? "" : encodePageToken(keyOf(last)) };
}
