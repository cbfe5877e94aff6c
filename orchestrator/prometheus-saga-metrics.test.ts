import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { parseExposition } from "../test/prometheus-scrape.js";
import { createRunner } from "./engine/runner.js";
import { defineSaga, step } from "./engine/saga.js";
import { InMemorySagaStore } from "./engine/saga-store.js";
import { createPrometheusSagaMetrics } from "./prometheus-saga-metrics.js";

class Transient extends Error {}
class Business extends Error {}

/** Steps that fail as each call's entry in `script` says ("ok" once the list is used up). */
function scriptedSaga(script: Record<string, Array<"ok" | "transient" | "business">>) {
  const next = (name: string): void => {
    const outcome = script[name]?.shift() ?? "ok";
    if (outcome === "transient") throw new Transient(`${name}: reply lost`);
    if (outcome === "business") throw new Business(`${name}: refused`);
  };
  const policy = {
    retry: { maxAttempts: 5, initialDelayMs: 0, timeoutMs: 5_000 },
    compensationRetry: { attentionAfter: 2, initialDelayMs: 0, timeoutMs: 5_000 },
  };
  return defineSaga("trip", 1, [
    step("book-flight", async () => (next("book-flight"), null), { ...policy, compensate: async () => next("cancel-flight") }),
    step("book-hotel", async () => (next("book-hotel"), null), { ...policy, compensate: async () => next("cancel-hotel") }),
  ]);
}

describe("Prometheus saga metrics", () => {
  it("counts sagas by outcome, retries by phase, step and code, and every call by outcome", async () => {
    const registry = new Registry();
    const script: Record<string, Array<"ok" | "transient" | "business">> = {
      // First saga: the flight's reply is lost twice, then it succeeds; the saga completes.
      // Second saga: the hotel refuses; the hotel's compensation succeeds, the flight's fails twice: NEEDS_ATTENTION.
      "book-flight": ["transient", "transient", "ok", "ok"],
      "book-hotel": ["ok", "business"],
      "cancel-flight": ["business", "business"],
    };
    const runner = createRunner({
      store: new InMemorySagaStore(),
      definitions: [scriptedSaga(script)],
      isRetryable: (e) => e instanceof Transient,
      describeError: (e) => ({ code: e instanceof Transient ? "UNAVAILABLE" : "FAILED_PRECONDITION", message: (e as Error).message }),
      sleep: async () => {},
      metrics: createPrometheusSagaMetrics(registry, () => runner.inFlight()),
    });
    const first = await runner.start("trip", { input: {} });
    expect((await runner.wait(first.saga.sagaId, 10_000))?.status).toBe("COMPLETED");
    const second = await runner.start("trip", { input: {} });
    expect((await runner.wait(second.saga.sagaId, 10_000))?.status).toBe("NEEDS_ATTENTION");
    await runner.idle();

    const m = parseExposition(await registry.metrics());
    const trip = { definition: "trip" };
    expect(m.value("tpsaga_sagas_started_total", trip)).toBe(2);
    expect(m.value("tpsaga_sagas_completed_total", trip)).toBe(1);
    expect(m.value("tpsaga_sagas_compensated_total", trip)).toBe(0);
    expect(m.value("tpsaga_sagas_needs_attention_total", trip)).toBe(1);
    expect(m.value("tpsaga_sagas_in_flight")).toBe(0);
    expect(m.value("tpsaga_saga_retries_total", { ...trip, phase: "action", step: "book-flight", code: "UNAVAILABLE" })).toBe(2);
    // The compensation's first failure is retried; its second ends the budget: not a retry.
    expect(m.value("tpsaga_saga_retries_total", { ...trip, phase: "compensation", step: "book-flight", code: "FAILED_PRECONDITION" })).toBe(1);
    expect(m.sum("tpsaga_saga_retries_total")).toBe(3);
    const calls = (phase: string, step: string, outcome: string) => m.value("tpsaga_saga_call_seconds_count", { ...trip, phase, step, outcome });
    expect(calls("action", "book-flight", "UNAVAILABLE")).toBe(2);
    expect(calls("action", "book-flight", "OK")).toBe(2);
    expect(calls("action", "book-hotel", "OK")).toBe(1);
    expect(calls("action", "book-hotel", "FAILED_PRECONDITION")).toBe(1);
    expect(calls("compensation", "book-hotel", "OK")).toBe(1);
    expect(calls("compensation", "book-flight", "FAILED_PRECONDITION")).toBe(2);
    expect(m.sum("tpsaga_saga_call_seconds_count")).toBe(9);
  });

  it("reads sagas in flight at scrape time", async () => {
    const registry = new Registry();
    let inFlight = 7;
    createPrometheusSagaMetrics(registry, () => inFlight);
    expect(parseExposition(await registry.metrics()).value("tpsaga_sagas_in_flight")).toBe(7);
    inFlight = 0;
    expect(parseExposition(await registry.metrics()).value("tpsaga_sagas_in_flight")).toBe(0);
  });
});
