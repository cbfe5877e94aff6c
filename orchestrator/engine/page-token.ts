/**
 * Opaque keyset page tokens for listing sagas newest first: base64url of the last
 * returned saga's creation time and id.
 */
import { InvalidPageTokenError } from "./errors.js";

/** Where a page ends: the last saga returned (sort order: createdAt desc, sagaId desc). */
export interface SagaCursor {
  createdAt: number;
  sagaId: string;
}

/** Encodes a cursor as an opaque token. Never throws. */
export function encodePageToken(cursor: SagaCursor): string {
  return Buffer.from(`v1:${cursor.createdAt}:${cursor.sagaId}`, "utf8").toString("base64url");
}

/**
 * Decodes a token made by {@link encodePageToken}.
 * @throws InvalidPageTokenError when the token is not one of ours.
 */
export function decodePageToken(token: string): SagaCursor {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new InvalidPageTokenError(token);
  const text = Buffer.from(token, "base64url").toString("utf8");
  const m = /^v1:(-?\d{1,16}):(.+)$/s.exec(text);
  const createdAt = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(createdAt)) throw new InvalidPageTokenError(token);
  return { createdAt, sagaId: m[2]! };
}
