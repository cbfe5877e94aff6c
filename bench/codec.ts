/**
 * `node --import tsx bench/codec.ts [--ms N]`: µs per encode and per decode of the messages our
 * hot path carries (a payments Exchange request and response, the orchestrator's StartSaga
 * request and response), protobuf-es (`toBinary(create())`, `fromBinary`) against our codec
 * (`platform/protobuf-codec.ts`). In-process, no network; each measurement runs N ms (default
 * 500), after a warm-up of the same length, so the whole run takes a few seconds.
 */
import { parseArgs } from "node:util";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { ExchangeRequestSchema, ExchangeResponseSchema, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { SagaStatus, StartSagaRequestSchema, StartSagaResponseSchema, StepPhase, StepStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { decode, encode } from "#platform/protobuf-codec.js";

const { values } = parseArgs({ options: { ms: { type: "string", default: "500" } } });
const runMs = Number(values.ms);

const at = { seconds: 1_764_000_000n, nanos: 123_000_000 };
const step = (name: string, phase: StepPhase) => ({ name, phase, status: StepStatus.SUCCEEDED, attempts: 1, startedAt: at, finishedAt: at });
const cases: { name: string; schema: DescMessage; init: Record<string, unknown> }[] = [
  {
    name: "payments ExchangeRequest",
    schema: ExchangeRequestSchema,
    init: {
      callId: 1234,
      timeoutMs: 10_000,
      call: {
        case: "authorizePayment",
        value: { idempotencyKey: "saga-7f3a9c2e-0b1d-4e8f:payments", customerId: "customer-42", amountCents: 12_345n },
      },
    },
  },
  {
    name: "payments ExchangeResponse",
    schema: ExchangeResponseSchema,
    init: {
      callId: 1234,
      result: {
        case: "authorizePayment",
        value: {
          payment: {
            idempotencyKey: "saga-7f3a9c2e-0b1d-4e8f:payments",
            customerId: "customer-42",
            amountCents: 12_345n,
            status: PaymentStatus.AUTHORIZED,
          },
        },
      },
    },
  },
  {
    name: "orchestrator StartSagaRequest",
    schema: StartSagaRequestSchema,
    init: {
      idempotencyKey: "order-2026-11-30-000123",
      order: {
        customerId: "customer-42",
        items: [
          { productId: "sku-1", quantity: 2 },
          { productId: "sku-2", quantity: 1 },
        ],
      },
      waitMs: 5000,
    },
  },
  {
    name: "orchestrator StartSagaResponse",
    schema: StartSagaResponseSchema,
    init: {
      created: true,
      saga: {
        sagaId: "7f3a9c2e-0b1d-4e8f-9a6b-3c2d1e0f9a8b",
        idempotencyKey: "order-2026-11-30-000123",
        definitionName: "order",
        definitionVersion: 1,
        status: SagaStatus.COMPLETED,
        order: {
          customerId: "customer-42",
          items: [
            { productId: "sku-1", quantity: 2 },
            { productId: "sku-2", quantity: 1 },
          ],
        },
        totalCents: 12_345n,
        steps: ["price", "reserve", "authorize", "purchase"].flatMap((n) => [step(n, StepPhase.ACTION), step(n, StepPhase.CONFIRMATION)]),
        createdAt: at,
        updatedAt: at,
      },
    },
  },
];

/** µs per call of `run`, over `runMs` ms after as long a warm-up. */
function microsPerCall(run: () => unknown): number {
  for (const measure of [false, true]) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < runMs) {
      for (let i = 0; i < 200; i++) run();
      calls += 200;
      elapsed = performance.now() - start;
    }
    if (measure) return (elapsed * 1000) / calls;
  }
  return NaN;
}

const rows: Record<string, string>[] = [];
for (const { name, schema, init } of cases) {
  const bytes = toBinary(schema, create(schema, init));
  const figures = {
    "protobuf-es encode": microsPerCall(() => toBinary(schema, create(schema, init))),
    "codec encode": microsPerCall(() => encode(schema, init)),
    "protobuf-es decode": microsPerCall(() => fromBinary(schema, bytes)),
    "codec decode": microsPerCall(() => decode(schema, bytes)),
  };
  rows.push({
    message: `${name} (${bytes.length} B)`,
    ...Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${k} µs`, v.toFixed(2)])),
    "encode ×": (figures["protobuf-es encode"] / figures["codec encode"]).toFixed(1),
    "decode ×": (figures["protobuf-es decode"] / figures["codec decode"]).toFixed(1),
  });
}
console.table(rows);
