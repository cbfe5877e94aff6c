import type { RequestHandler } from "express";
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

/**
 * Who may start sagas, checked before the request's body is read: with keys configured, a
 * request without a key is 401 (with `WWW-Authenticate: Bearer`), one with a key that is not
 * configured 403, and one over its key's rate 429 with `Retry-After` in seconds; none of them
 * starts anything. The key's name is left in `res.locals.apiKeyName` for logs. Returns
 * undefined when nothing is configured, so the route is exactly as without it.
 */
export function sagaAccess(options: SagaAccessOptions): RequestHandler | undefined {
  if (options.keys.isEmpty) {
    if (options.rateLimit) throw new Error("a per-key rate limit needs API keys");
    return undefined;
  }
  const buckets = options.rateLimit ? new TokenBuckets(options.rateLimit, options.now) : undefined;
  return (req, res, next) => {
    const presented = presentedKey(req.headers);
    if (presented.kind !== "key") {
      const error = presented.kind === "none" ? "an API key is required: send Authorization: Bearer <key> or X-Api-Key: <key>" : presented.error;
      res.setHeader("WWW-Authenticate", 'Bearer realm="POST /saga"');
      return void res.status(401).json({ error });
    }
    const name = options.keys.identify(presented.key);
    if (name === undefined) return void res.status(403).json({ error: "the API key is not valid" });
    res.locals.apiKeyName = name;
    const taken = buckets?.take(name);
    if (taken && !taken.allowed) {
      const seconds = retryAfterSeconds(taken.retryAfterMs);
      res.setHeader("Retry-After", String(seconds));
      return void res.status(429).json({ error: `rate limit of API key ${name} exceeded: retry in ${seconds} s` });
    }
    next();
  };
}
