import type { IncomingHttpHeaders } from "node:http";
import { presentedKey, type ApiKeyRing } from "./api-keys.js";
import { retryAfterSeconds, type RateLimit, TokenBuckets } from "./rate-limit.js";

export interface SagaAccessOptions {
  /** The keys that may start sagas; empty: anyone may (the default). */
  readonly keys: ApiKeyRing;
  /** Per-key limit; needs keys. */
  readonly rateLimit?: RateLimit;
  /** The clock of the buckets, in milliseconds (tests). */
  readonly now?: () => number;
}

/** Why a request may not start a saga: its status, the JSON error, and the headers that go with it (name, value…). */
export interface SagaAccessRefusal {
  readonly status: 401 | 403 | 429;
  readonly error: string;
  readonly headers: readonly string[];
}

/** Checks a request's headers: undefined when it may start a saga, otherwise why not. */
export type SagaAccessCheck = (headers: IncomingHttpHeaders) => SagaAccessRefusal | undefined;

/**
 * Who may start sagas, checked before the request's body is read: with keys configured, a
 * request without a key is 401 (with `WWW-Authenticate: Bearer`), one with a key that is not
 * configured 403, and one over its key's rate 429 with `Retry-After` in seconds; none of them
 * starts anything. Returns undefined when nothing is configured, so the endpoint is exactly as
 * without it.
 */
export function sagaAccess(options: SagaAccessOptions): SagaAccessCheck | undefined {
  if (options.keys.isEmpty) {
    if (options.rateLimit) throw new Error("a per-key rate limit needs API keys");
    return undefined;
  }
  const buckets = options.rateLimit ? new TokenBuckets(options.rateLimit, options.now) : undefined;
  return (headers) => {
    const presented = presentedKey(headers);
    if (presented.kind !== "key") {
      const error = presented.kind === "none" ? "an API key is required: send Authorization: Bearer <key> or X-Api-Key: <key>" : presented.error;
      return { status: 401, error, headers: ["WWW-Authenticate", 'Bearer realm="POST /saga"'] };
    }
    const name = options.keys.identify(presented.key);
    if (name === undefined) return { status: 403, error: "the API key is not valid", headers: [] };
    const taken = buckets?.take(name);
    if (taken && !taken.allowed) {
      const seconds = retryAfterSeconds(taken.retryAfterMs);
      return { status: 429, error: `rate limit of API key ${name} exceeded: retry in ${seconds} s`, headers: ["Retry-After", String(seconds)] };
    }
    return undefined;
  };
}
