import { ConfigError } from "#platform/config.js";

/** A sustained rate and the burst allowed above it. */
export interface RateLimit {
  /** Requests per second, sustained. */
  readonly perSecond: number;
  /** Requests a key may make at once after being idle (the bucket's size). */
  readonly burst: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };

/**
 * Parses a rate as `<count>/<unit>` (`100/s`, `600/min`, `1000/h`; the count may be a decimal)
 * and a burst (empty: the count as written, so `600/min` allows 600 at once after an idle
 * minute). Both empty is no limit (undefined).
 * @throws ConfigError naming the variable and what is wrong with it.
 */
export function parseRateLimit(rateVariable: string, rate: string, burstVariable: string, burst: string): RateLimit | undefined {
  if (rate.trim() === "") {
    if (burst.trim() !== "") throw new ConfigError(`${burstVariable} is set but ${rateVariable} is not: a burst needs a rate`);
    return undefined;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/i.exec(rate);
  const count = match ? Number(match[1]) : NaN;
  const unit = match ? UNIT_SECONDS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined || !(count > 0)) {
    throw new ConfigError(`${rateVariable}=${JSON.stringify(rate)} is not a rate such as 100/s, 600/min or 1000/h (a count above 0 per s, min or h)`);
  }
  let size = Math.max(1, Math.ceil(count));
  if (burst.trim() !== "") {
    size = Number(burst);
    if (!/^\s*\d+\s*$/.test(burst) || size < 1 || size > 1_000_000) {
      throw new ConfigError(`${burstVariable}=${JSON.stringify(burst)} is not an integer from 1 to 1000000`);
    }
  }
  return Object.freeze({ perSecond: count / unit, burst: size });
}

/** The answer of {@link TokenBuckets.take}: allowed, or refused with how long until a request would be. */
export type TakeResult = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterMs: number };

/**
 * One token bucket per key: a key's bucket holds up to `burst` tokens, refills at `perSecond`,
 * and each request takes one. A request that finds less than a token is refused, and told when
 * one will be there. The keys are the configured API keys' names, so the map is bounded by the
 * configuration.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes a token from `key`'s bucket, or says in how many milliseconds one will be there. */
  take(key: string): TakeResult {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.limit.burst, at: now };
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.limit.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterMs: ((1 - bucket.tokens) / this.limit.perSecond) * 1000 };
  }
}

/** `Retry-After` in whole seconds (RFC 9110): rounded up, so a client that waits that long finds a token. */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
