import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";
import { startOtlpSink, type OtlpSink, type SinkSpan } from "./otlp-sink.js";

const SIX = ["catalog", "payments", "purchases", "inventory", "orchestrator", "gateway"];
const SERVER = 2;
const CLIENT = 3;

// The six real processes export their spans by OTLP (protobuf over HTTP, the real exporter) to
// a sink in this test, which decodes them. One POST /saga must be one trace over all six, with
// each span under the right parent; and the log lines about a saga carry its id and trace id.
describe("tracing: one saga, one trace over the six processes", () => {
  let sink: OtlpSink;
  let f: SystemFixture;
  beforeAll(async () => {
    sink = await startOtlpSink();
    f = await startFixture({
      env: { OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_BSP_SCHEDULE_DELAY: "100" },
      // A refusal is logged at debug level: payments shows one about the saga it refuses.
      // Inventory's actions are slow, so that the last test can kill the orchestrator mid-saga.
      envOf: { payments: { LOG_LEVEL: "debug" }, inventory: { DEMO_LATENCY_MS: "1500-1500" } },
    });
  }, 180_000);
  afterAll(async () => {
    await f?.close();
    await sink?.close();
  });

  /** Waits (bounded) until the saga is terminal and the sink holds `expected` of its trace's spans. */
  async function traceOf(sagaId: string, done: (spans: SinkSpan[]) => boolean): Promise<SinkSpan[]> {
    for (let i = 0; i < 300; i++) {
      const saga = sink.spans.find((s) => s.name === "saga order" && s.attributes["saga.id"] === sagaId);
      const spans = saga ? sink.spans.filter((s) => s.traceId === saga.traceId) : [];
      // The gateway's span ends when it answers, but is exported by its own process: wait for it too.
      if (saga && spans.some((s) => s.name === "POST /saga") && done(spans)) return spans;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the trace of saga ${sagaId} did not arrive in full: ${JSON.stringify(sink.spans.map((s) => [s.service, s.name]))}`);
  }

  const one = (spans: SinkSpan[], service: string, name: string): SinkSpan => {
    const found = spans.filter((s) => s.service === service && s.name === name);
    expect(found, `${service} ${name}`).toHaveLength(1);
    return found[0]!;
  };
  const childrenOf = (spans: SinkSpan[], parent: SinkSpan): SinkSpan[] => spans.filter((s) => s.parentSpanId === parent.spanId);

  it("a completed saga: REST request → saga → each step → client call → handler → store write, in one trace", async () => {
    const res = await f.post("/saga", { customerId: "customer-1", items: [{ productId: "mouse", quantity: 2 }] });
    expect(res.status).toBe(200);
    const sagaId: string = res.body.sagaId;
    // Complete: the four actions, the three confirmations, each with its handler's store write where it writes.
    const spans = await traceOf(
      sagaId,
      (s) =>
        s.filter((x) => x.name.endsWith(" write")).length >= 6 &&
        s.filter((x) => x.kind === SERVER && x.service !== "orchestrator" && x.service !== "gateway").length >= 7 &&
        s.some((x) => x.name === "confirm take-stock"),
    );

    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(SIX));
    const rest = one(spans, "gateway", "POST /saga");
    expect(rest.parentSpanId).toBe("");
    expect(rest.kind).toBe(SERVER);
    const gatewayCall = one(spans, "gateway", "saga.orchestrator.v1.OrchestratorService/StartSaga");
    expect(gatewayCall.kind).toBe(CLIENT);
    expect(gatewayCall.parentSpanId).toBe(rest.spanId);
    const startSaga = one(spans, "orchestrator", "saga.orchestrator.v1.OrchestratorService/StartSaga");
    expect(startSaga.kind).toBe(SERVER);
    expect(startSaga.parentSpanId).toBe(gatewayCall.spanId);
    const saga = one(spans, "orchestrator", "saga order");
    expect(saga.parentSpanId).toBe(startSaga.spanId);
    expect(saga.attributes["saga.status"]).toBe("COMPLETED");

    const steps: Array<[string, string, string, boolean]> = [
      ["action price-order", "catalog", "saga.catalog.v1.CatalogService/PriceOrder", false],
      ["action charge-payment", "payments", "saga.payments.v1.PaymentsService/AuthorizePayment", true],
      ["action record-purchase", "purchases", "saga.purchases.v1.PurchasesService/ProcessPurchase", true],
      ["action take-stock", "inventory", "saga.inventory.v1.InventoryService/ReserveStock", true],
      ["confirm charge-payment", "payments", "saga.payments.v1.PaymentsService/CapturePayment", true],
      ["confirm record-purchase", "purchases", "saga.purchases.v1.PurchasesService/ConfirmPurchase", true],
      ["confirm take-stock", "inventory", "saga.inventory.v1.InventoryService/CommitStock", true],
    ];
    for (const [stepName, service, rpc, writes] of steps) {
      const step = one(spans, "orchestrator", stepName);
      expect(step.parentSpanId, stepName).toBe(saga.spanId);
      expect(step.attributes["saga.id"]).toBe(sagaId);
      expect(step.attributes["saga.attempt"]).toBe(1);
      const [call] = childrenOf(spans, step);
      expect(call, `${stepName}: its client call`).toMatchObject({ service: "orchestrator", name: rpc, kind: CLIENT });
      const [handler] = childrenOf(spans, call!);
      expect(handler, `${stepName}: the handler`).toMatchObject({ service, name: rpc, kind: SERVER });
      const storeWrites = childrenOf(spans, handler!).filter((s) => s.name === `${service} write`);
      expect(storeWrites, `${stepName}: the store write`).toHaveLength(writes ? 1 : 0);
    }
    expect(spans.every((s) => s.traceId === rest.traceId)).toBe(true);
  }, 120_000);

  it("a compensated saga: the compensations are spans under the saga too; its log lines carry sagaId and traceId", async () => {
    // customer-3 cannot pay for a notebook: payments refuses, so the authorization is compensated.
    const res = await f.post("/saga", { customerId: "customer-3", items: [{ productId: "notebook", quantity: 1 }] });
    expect(res.status).toBe(409);
    const sagaId: string = res.body.sagaId;
    const spans = await traceOf(
      sagaId,
      (s) => s.some((x) => x.service === "payments" && x.name.endsWith("/VoidPayment")) && s.some((x) => x.name === "saga order"),
    );
    const saga = one(spans, "orchestrator", "saga order");
    expect(saga.attributes["saga.status"]).toBe("COMPENSATED");
    const compensation = one(spans, "orchestrator", "compensate charge-payment");
    expect(compensation.parentSpanId).toBe(saga.spanId);
    const [call] = childrenOf(spans, compensation);
    const [handler] = childrenOf(spans, call!);
    expect(handler).toMatchObject({ service: "payments", name: "saga.payments.v1.PaymentsService/VoidPayment", kind: SERVER });
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(["gateway", "orchestrator", "catalog", "payments"]));

    // The log lines naming this saga: the orchestrator's outcome, and payments' refusal (debug).
    const lines = f.logs
      .map((line) => /^\[(\w+)\] (\{.*\})$/.exec(line))
      .flatMap((m) => (m ? [{ process: m[1]!, line: JSON.parse(m[2]!) as Record<string, unknown> }] : []))
      .filter(({ line }) => line.sagaId === sagaId);
    const outcome = lines.find(({ process, line }) => process === "orchestrator" && line.msg === "saga-compensated");
    const refusal = lines.find(({ process, line }) => process === "payments" && line.msg === "call refused");
    expect(outcome, "the orchestrator's outcome line").toBeDefined();
    expect(refusal, `payments' refusal line among ${f.logs.filter((l) => l.startsWith("[payments]")).join("\n")}`).toBeDefined();
    for (const { line } of lines) expect(line.traceId, JSON.stringify(line)).toBe(saga.traceId);
  }, 120_000);

  it("a saga resumed after kill -9 of the orchestrator continues its trace, from the traceparent kept in its log", async () => {
    const orchestrator = createServiceClient(OrchestratorService, f.system.urls.orchestrator, { timeoutMs: 10_000 });
    const { saga: started } = await orchestrator.startSaga({
      order: { customerId: "customer-1", items: [{ productId: "keyboard", quantity: 1 }] },
      waitMs: 0,
    });
    orchestrator.close();
    const sagaId = started!.sagaId;
    // Kill while take-stock is in flight: record-purchase's span has ended and been exported.
    let before: SinkSpan | undefined;
    for (let i = 0; i < 200 && !before; i++) {
      before = sink.spans.find((s) => s.name === "action record-purchase" && s.attributes["saga.id"] === sagaId);
      if (!before) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(before, "the span of the step before the kill").toBeDefined();
    await f.system.kill("orchestrator");
    await f.system.restart("orchestrator");

    let resumed: SinkSpan | undefined;
    for (let i = 0; i < 300 && !resumed?.attributes["saga.status"]; i++) {
      resumed = sink.spans.find((s) => s.name === "saga order resumed" && s.attributes["saga.id"] === sagaId);
      if (!resumed?.attributes["saga.status"]) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(resumed, "the resumed saga's span, ended").toMatchObject({
      service: "orchestrator",
      traceId: before!.traceId,
      parentSpanId: before!.parentSpanId,
    });
    expect(resumed!.attributes["saga.status"]).toBe("COMPLETED");
    const underResumed = sink.spans.filter((s) => s.parentSpanId === resumed!.spanId).map((s) => s.name);
    expect(underResumed).toEqual(
      expect.arrayContaining(["action take-stock", "confirm charge-payment", "confirm record-purchase", "confirm take-stock"]),
    );
    // Its outcome line, written by the new orchestrator outside any step span, names the same trace.
    let outcome: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !outcome; i++) {
      outcome = f.logs
        .filter((line) => line.startsWith("[orchestrator] {"))
        .map((line) => JSON.parse(line.slice("[orchestrator] ".length)) as Record<string, unknown>)
        .find((line) => line.sagaId === sagaId && line.msg === "saga-completed");
      if (!outcome) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(outcome).toMatchObject({ traceId: before!.traceId });
  }, 180_000);
});
