import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { context, propagation, trace } from "@opentelemetry/api";
import { Code, ConnectError } from "@connectrpc/connect";
import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { startOtlpSink, type OtlpSink } from "../../test/otlp-sink.js";
import { ConfigError } from "../config.js";
import { createServiceClient } from "../grpc-client.js";
import { startGrpcServer, type GrpcServer } from "../grpc-server.js";
import { createLogger } from "../logger.js";
import { SAGA_ID_BAGGAGE, traceLogFields } from "./log-trace-fields.js";
import { readTracingConfig, startTracing, type Tracing } from "./tracing-sdk.js";
import { tracingSwitch } from "./tracing-switch.js";
import { paymentsTestService } from "../../test/payments-test-service.js";

// This file's process installs the SDK (vitest runs each test file in a process of its own).

describe("whether a process traces", () => {
  it("is off by default and with OTEL_SDK_DISABLED=true, and loads nothing then", async () => {
    expect((await startTracing("payments", {})).enabled).toBe(false);
    expect((await startTracing("payments", { OTEL_TRACES_EXPORTER: "otlp", OTEL_SDK_DISABLED: "true" })).enabled).toBe(false);
    expect((await startTracing("payments", { OTEL_TRACES_EXPORTER: "none" })).enabled).toBe(false);
    expect(tracingSwitch.on).toBe(false);
  });

  it("refuses an exporter it does not have, naming the variable", () => {
    expect(() => readTracingConfig("payments", { OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(ConfigError);
    expect(() => readTracingConfig("payments", { OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(/OTEL_TRACES_EXPORTER="jaeger" is not one of none, otlp/);
    expect(() => readTracingConfig("payments", { OTEL_SDK_DISABLED: "yes" })).toThrow(/OTEL_SDK_DISABLED/);
  });
});

describe("a traced call, unary and on the Exchange stream", () => {
  let sink: OtlpSink;
  let tracing: Tracing;
  let server: GrpcServer;
  /** What the handler saw of its context: the log fields a line written there would carry. */
  const seen = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    sink = await startOtlpSink();
    // The exporter reads its endpoint from the environment itself.
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${sink.url}/v1/traces`;
    tracing = await startTracing("payments", { OTEL_TRACES_EXPORTER: "otlp" });
    const handlers = paymentsTestService({
      authorizePayment(req) {
        seen.set(req.idempotencyKey, traceLogFields());
        if (req.customerId === "declined") throw new ConnectError("insufficient funds", Code.FailedPrecondition);
        return { payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.AUTHORIZED } };
      },
    });
    server = await startGrpcServer({ services: [handlers], port: 0, log: createLogger("payments", "silent") });
  });
  afterAll(async () => {
    await server?.close();
    await tracing?.shutdown();
    await sink?.close();
  });

  it("is a CLIENT span under the caller's span, and a SERVER span under it in which the handler sees the trace and the saga", async () => {
    expect(tracing.enabled).toBe(true);
    expect(tracingSwitch.on).toBe(true);
    const exchange = createServiceClient(PaymentsService, server.url, { exchange: true });
    const unary = createServiceClient(PaymentsService, server.url);
    const tracer = trace.getTracer("test");
    const root = tracer.startSpan("test saga");
    const sagaContext = propagation.setBaggage(
      trace.setSpan(context.active(), root),
      propagation.createBaggage({ [SAGA_ID_BAGGAGE]: { value: "saga-7" } }),
    );
    await context.with(sagaContext, async () => {
      await exchange.authorizePayment({ idempotencyKey: "on-exchange", customerId: "c", amountCents: 1n });
      await unary.authorizePayment({ idempotencyKey: "unary", customerId: "c", amountCents: 1n });
      await expect(exchange.authorizePayment({ idempotencyKey: "refused", customerId: "declined", amountCents: 1n })).rejects.toThrow(/insufficient/);
    });
    // Outside any span: no trace to carry.
    await exchange.authorizePayment({ idempotencyKey: "untraced", customerId: "c", amountCents: 1n });
    root.end();
    exchange.close();
    unary.close();
    await tracing.shutdown(); // flushes every span to the sink

    const traceId = root.spanContext().traceId;
    const rootId = root.spanContext().spanId;
    for (const key of ["on-exchange", "unary", "refused"]) {
      expect(seen.get(key), key).toMatchObject({ traceId, sagaId: "saga-7" });
    }
    expect(seen.get("untraced")!.sagaId).toBeUndefined();
    expect(seen.get("untraced")!.traceId).not.toBe(traceId);

    const name = "saga.payments.v1.PaymentsService/AuthorizePayment";
    const clients = sink.spans.filter((s) => s.name === name && s.kind === 3 && s.traceId === traceId);
    expect(clients).toHaveLength(3);
    for (const client of clients) {
      expect(client.parentSpanId).toBe(rootId);
      const servers = sink.spans.filter((s) => s.parentSpanId === client.spanId);
      expect(servers).toHaveLength(1);
      expect(servers[0]).toMatchObject({ name, kind: 2, traceId, service: "payments" });
    }
    const codes = clients.map((s) => s.attributes["rpc.grpc.status_code"]).sort();
    expect(codes).toEqual([0, 0, Code.FailedPrecondition]);
  });
});
