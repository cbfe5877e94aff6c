import { describe, expect, it } from "vitest";
import { parseRateLimit, retryAfterSeconds, TokenBuckets } from "./rate-limit.js";

const parse = (rate: string, burst = "") => parseRateLimit("SAGA_RATE_LIMIT", rate, "SAGA_RATE_BURST", burst);

describe("parseRateLimit", () => {
  it("reads count/unit, with the count as the default burst", () => {
    expect(parse("100/s")).toEqual({ perSecond: 100, burst: 100 });
    expect(parse("600/min")).toEqual({ perSecond: 10, burst: 600 });
    expect(parse(" 36 / h ", "2")).toEqual({ perSecond: 0.01, burst: 2 });
    expect(parse("0.5/s")).toEqual({ perSecond: 0.5, burst: 1 });
  });

  it("is no limit when both are empty", () => {
    expect(parse("")).toBeUndefined();
  });

  it("names what is wrong", () => {
    for (const bad of ["100", "0/s", "-1/s", "10/day", "ten/s", "1e3/s"])
      expect(() => parse(bad)).toThrow(`SAGA_RATE_LIMIT=${JSON.stringify(bad)} is not a rate`);
    expect(() => parse("10/s", "0")).toThrow('SAGA_RATE_BURST="0" is not an integer from 1 to 1000000');
    expect(() => parse("10/s", "1.5")).toThrow("SAGA_RATE_BURST");
    expect(() => parse("", "5")).toThrow("SAGA_RATE_BURST is set but SAGA_RATE_LIMIT is not");
  });
});

describe("TokenBuckets", () => {
  it("allows the burst, then one request per refill interval, and says exactly when", () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 2, burst: 3 }, () => now);
    for (let i = 0; i < 3; i++) expect(buckets.take("ci")).toEqual({ allowed: true });
    expect(buckets.take("ci")).toEqual({ allowed: false, retryAfterMs: 500 });
    now = 200;
    expect(buckets.take("ci")).toEqual({ allowed: false, retryAfterMs: 300 });
    now = 500;
    expect(buckets.take("ci")).toEqual({ allowed: true });
    expect(buckets.take("ci")).toMatchObject({ allowed: false });
  });

  it("keeps one bucket per key", () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 }, () => 0);
    expect(buckets.take("ci").allowed).toBe(true);
    expect(buckets.take("ci").allowed).toBe(false);
    expect(buckets.take("shop").allowed).toBe(true);
  });

  it("never holds more than the burst after a long idle time", () => {
    let now = 0;
    const buckets = new TokenBuckets({ perSecond: 1, burst: 2 }, () => now);
    buckets.take("ci");
    now = 3_600_000;
    expect(buckets.take("ci").allowed).toBe(true);
    expect(buckets.take("ci").allowed).toBe(true);
    expect(buckets.take("ci")).toEqual({ allowed: false, retryAfterMs: 1000 });
  });
});

describe("retryAfterSeconds", () => {
  it("rounds up to whole seconds, at least one", () => {
    expect(retryAfterSeconds(1)).toBe(1);
    expect(retryAfterSeconds(1000)).toBe(1);
    expect(retryAfterSeconds(1001)).toBe(2);
    expect(retryAfterSeconds(60_000)).toBe(60);
  });
});
