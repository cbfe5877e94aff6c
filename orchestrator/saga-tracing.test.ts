import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { context, propagation, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, NodeTracerProvider, ParentBasedSampler, SamplingDecision, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { createRunner, type Runner } from "./engine/runner.js";
import { defineSaga, step } from "./engine/saga.js";
import { InMemorySagaStore } from "./engine/saga-store.js";
import { createSagaTracing } from "./saga-tracing.js";

// The engine's sagas under real OpenTelemetry spans (the SDK with an in-memory exporter, in
// this file's own process): the saga span under the caller's, each step call under the saga,
// a resumed saga under the traceparent its log kept, and nothing extra for a saga left out by
// sampling.
const exporter = new InMemorySpanExporter();
let sampled = true;
beforeAll(() => {
  const provider = new NodeTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    // Only the test's root decides: "unsampled" roots are left out, and their children with them.
    sampler: new ParentBasedSampler({
      root: {
        shouldSample: () => ({ decision: sampled ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD }),
        toString: () => "test",
      },
    }),
  });
  provider.register();
});
afterEach(() => {
  exporter.reset();
  sampled = true;
});

/** The first call of `pay` after `holdNextPay()` waits for `release`; `ship` fails (not retryable) when the input says so. */
let held: Promise<void> | undefined;
let release: () => void = () => {};
const holdNextPay = (): void => {
  held = new Promise<void>((resolve) => (release = resolve));
};
const definition = defineSaga<{ fail?: boolean }>("order", 1, [
  step(
    "pay",
    async () => {
      const wait = held;
      held = undefined;
      if (wait) await wait;
      return "paid";
    },
    { compensate: async () => {}, confirm: async () => {} },
  ),
  step("ship", async (ctx) => {
    if (ctx.input.fail) throw new Error("no stock");
    return "shipped";
  }),
]);

function tracedRunner(store: InMemorySagaStore, reads: { count: number } = { count: 0 }): Runner {
  const tracing = createSagaTracing();
  const runner = createRunner({
    store,
    definitions: [tracing.definition(definition)],
    isRetryable: () => false,
    describeError: (error) => ({ code: "FAILED", message: String(error) }),
  });
  const counted: Runner = {
    ...runner,
    get: (sagaId) => {
      reads.count++;
      return runner.get(sagaId);
    },
  };
  return tracing.runner(counted);
}

const named = (spans: ReadableSpan[], name: string): ReadableSpan[] => spans.filter((s) => s.name === name);
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

describe("saga spans", () => {
  it("a saga's span is under its caller's, and every step call is under the saga's", async () => {
    const runner = tracedRunner(new InMemorySagaStore());
    const caller = trace.getTracer("test").startSpan("StartSaga");
    const { saga } = await context.with(trace.setSpan(context.active(), caller), () => runner.start("order", { input: { fail: true } }));
    await runner.idle();
    caller.end();
    const spans = exporter.getFinishedSpans();
    const [sagaSpan] = named(spans, "saga order");
    expect(sagaSpan).toBeDefined();
    expect(parentOf(sagaSpan!)).toBe(caller.spanContext().spanId);
    expect(sagaSpan!.attributes).toMatchObject({ "saga.id": saga.sagaId, "saga.status": "COMPENSATED" });
    for (const name of ["action pay", "action ship", "compensate pay"]) {
      const [stepSpan] = named(spans, name);
      expect(stepSpan, name).toBeDefined();
      expect(parentOf(stepSpan!), name).toBe(sagaSpan!.spanContext().spanId);
      expect(stepSpan!.attributes["saga.attempt"]).toBe(1);
    }
    expect(named(spans, "action ship")[0]!.status.code).toBe(2); // ERROR
    await runner.close();
  });

  it("a saga resumed by another runner continues under the traceparent its log kept", async () => {
    const store = new InMemorySagaStore();
    const first = tracedRunner(store);
    holdNextPay();
    const { saga } = await first.start("order", { input: {} });
    await first.close(); // the saga stays RUNNING in the log; its span ends as stopped
    release();
    const [original] = named(exporter.getFinishedSpans(), "saga order");
    expect(original!.attributes["saga.stopped"]).toBe(true);

    const second = tracedRunner(store);
    expect(await second.resumePending()).toBe(1);
    await second.idle();
    const [resumed] = named(exporter.getFinishedSpans(), "saga order resumed");
    expect(resumed).toBeDefined();
    expect(resumed!.spanContext().traceId).toBe(original!.spanContext().traceId);
    expect(parentOf(resumed!)).toBe(original!.spanContext().spanId);
    expect(resumed!.attributes).toMatchObject({ "saga.id": saga.sagaId, "saga.status": "COMPLETED" });
    const underResumed = exporter
      .getFinishedSpans()
      .filter((s) => parentOf(s) === resumed!.spanContext().spanId)
      .map((s) => s.name);
    expect(underResumed).toEqual(expect.arrayContaining(["action pay", "action ship", "confirm pay"]));
    await second.close();
  });

  it("a saga left out by sampling makes no span and reads nothing more from the log", async () => {
    sampled = false;
    const reads = { count: 0 };
    const runner = tracedRunner(new InMemorySagaStore(), reads);
    const root = trace.getTracer("test").startSpan("POST /saga");
    const rootContext = propagation.setBaggage(trace.setSpan(context.active(), root), propagation.createBaggage());
    await context.with(rootContext, () => runner.start("order", { input: {} }));
    await runner.idle();
    root.end();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(reads.count).toBe(0);
    await runner.close();
  });
});
