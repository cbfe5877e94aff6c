import { invalidArgument } from "./field-rules.js";

/**
 * Keyset paging, one token format for every list in the system (the services' lists and the
 * orchestrator's list of sagas). A token is opaque to callers: base64url of a small JSON
 * object holding the sort key of the last row of the previous page, so a page never skips or
 * repeats a row when rows are added meanwhile. A token is accepted only if it is exactly what
 * this module would have made, so a hand-edited one is refused rather than half-understood.
 */

/** One part of a sort key: the services sort by one string key, sagas by time then id. */
type KeyPart = string | number;

interface TokenBody {
  v: 1;
  after: KeyPart[];
}

/** Longest token accepted; real ones are far shorter. */
const MAX_TOKEN_LENGTH = 1024;

function encodeKeyset(after: KeyPart[]): string {
  const body: TokenBody = { v: 1, after };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/** The sort key inside `token`, or `undefined` when the token is not one this module made. */
function decodeKeyset(token: string): KeyPart[] | undefined {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null) return undefined;
  const { v, after } = body as Partial<TokenBody>;
  if (v !== 1 || !Array.isArray(after) || !after.every((p) => typeof p === "string" || typeof p === "number")) return undefined;
  return encodeKeyset(after) === token ? after : undefined;
}

/** A page token that this system did not issue (or that is corrupt). Maps to INVALID_ARGUMENT. */
export class InvalidPageTokenError extends Error {
  override name = "InvalidPageTokenError";
  constructor(readonly pageToken: string) {
    super("invalid page token");
  }
}

/** Where a page of sagas ends: the last saga returned (sort order: createdAt desc, sagaId desc). */
export interface SagaCursor {
  createdAt: number;
  sagaId: string;
}

/** The token that resumes a listing of sagas after `cursor`. Never throws. */
export function encodePageToken(cursor: SagaCursor): string {
  return encodeKeyset([cursor.createdAt, cursor.sagaId]);
}

/**
 * The saga cursor inside a token made by {@link encodePageToken}.
 * @throws InvalidPageTokenError when the token is not one of ours (the empty token included).
 */
export function decodePageToken(token: string): SagaCursor {
  const after = decodeKeyset(token);
  const [createdAt, sagaId] = after ?? [];
  if (after?.length !== 2 || !Number.isSafeInteger(createdAt) || typeof sagaId !== "string" || sagaId === "") {
    throw new InvalidPageTokenError(token);
  }
  return { createdAt: createdAt as number, sagaId };
}

/** The token that resumes a listing by one string key after `lastKey`. */
export function encodePageKey(lastKey: string): string {
  return encodeKeyset([lastKey]);
}

/**
 * The key to resume after, or `undefined` for the first page (empty token).
 * @throws ConnectError INVALID_ARGUMENT `page_token: …` for a token this code did not make.
 */
export function decodePageKey(token: string, field = "page_token"): string | undefined {
  if (token === "") return undefined;
  const after = decodeKeyset(token);
  const [key] = after ?? [];
  if (after?.length !== 1 || typeof key !== "string" || key === "") {
    throw invalidArgument(field, "is not a token from a previous response");
  }
  return key;
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
  return { items, nextPageToken: last === undefined ? "" : encodePageKey(keyOf(last)) };
}
