import { describe, expect, it } from "vitest";
import { InvalidPageTokenError, SagaDefinitionError } from "./errors.js";
import { decodePageToken, encodePageToken } from "#platform/page-token.js";
import { backoffDelay, DEFAULT_COMPENSATION_RETRY, DEFAULT_RETRY } from "./retry.js";
import { DEFAULT_DEADLINE_MS, defineSaga, step } from "./saga.js";

const ok = async () => null;

describe("defineSaga and step", () => {
  it("fill in defaults and keep compensations' budget equal to attentionAfter", () => {
    const s = step("charge-payment", ok, { retry: { maxAttempts: 2 }, compensationRetry: { maxAttempts: 7 } });
    expect(s.retry).toEqual({ ...DEFAULT_RETRY, maxAttempts: 2 });
    expect(s.compensationRetry).toEqual({ ...DEFAULT_COMPENSATION_RETRY, maxAttempts: 7, attentionAfter: 7 });
    expect(s.confirmationRetry).toEqual(DEFAULT_COMPENSATION_RETRY);
    expect(step("a", ok, { confirmationRetry: { maxAttempts: 4 } }).confirmationRetry).toMatchObject({ maxAttempts: 4, attentionAfter: 4 });
    expect(s.compensate).toBeUndefined();
    const def = defineSaga("order", 3, [s]);
    expect(def).toMatchObject({ name: "order", version: 3, deadlineMs: DEFAULT_DEADLINE_MS });
  });

  it("refuse malformed definitions at boot", () => {
    expect(() => step("", ok)).toThrow(SagaDefinitionError);
    expect(() => step("a", ok, { retry: { maxAttempts: 0 } })).toThrow(SagaDefinitionError);
    expect(() => step("a", ok, { retry: { backoffRate: 0.5 } })).toThrow(SagaDefinitionError);
    expect(() => step("a", ok, { compensationRetry: { attentionAfter: 0 } })).toThrow(SagaDefinitionError);
    expect(() => step("a", ok, { confirmationRetry: { attentionAfter: 0 } })).toThrow(/confirmationRetry/);
    expect(() => defineSaga("order", 0, [step("a", ok)])).toThrow(SagaDefinitionError);
    expect(() => defineSaga("order", 1, [])).toThrow(SagaDefinitionError);
    expect(() => defineSaga("order", 1, [step("a", ok), step("a", ok)])).toThrow(SagaDefinitionError);
    expect(() => defineSaga("order", 1, [step("a", ok)], { deadlineMs: 0 })).toThrow(SagaDefinitionError);
  });
});

describe("backoffDelay", () => {
  const policy = { initialDelayMs: 100, maxDelayMs: 1_000, backoffRate: 2 };
  it("grows exponentially up to the cap, scaled by the jitter draw", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a, () => 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
    expect(backoffDelay({ ...policy, initialDelayMs: 0 }, 9, () => 0.5)).toBe(0);
  });
});

describe("page tokens", () => {
  it("round-trip and reject anything else", () => {
    const c = { createdAt: 1_700_000_000_123, sagaId: "0190-ab:cd" };
    expect(decodePageToken(encodePageToken(c))).toEqual(c);
    for (const bad of ["", "!!", "Zm9v", Buffer.from("v1:x:y").toString("base64url")]) {
      expect(() => decodePageToken(bad)).toThrow(InvalidPageTokenError);
    }
  });
});
