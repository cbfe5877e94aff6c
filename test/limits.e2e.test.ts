import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { takeSnapshot } from "../system/invariants.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// Limits: a bound on sagas in flight (429 + Retry-After, RESOURCE_EXHAUSTED over gRPC) and a
// request-size limit on every gRPC server, so load and hostile clients cannot grow memory
// without end.
describe("limits", () => {
  let f: SystemFixture;
  beforeAll(async () => {
    f = await startFixture({
      env: { LOG_LEVEL: "warn" },
      envOf: { orchestrator: { MAX_SAGAS_IN_FLIGHT: "3" }, payments: { DEMO_LATENCY_MS: "300-400" } },
    });
  }, 120_000);
  afterAll(() => f?.close());

  it("answers 429 with Retry-After past the bound on sagas in flight, and starts nothing for them", async () => {
    const order = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };
    const answers = await Promise.all(Array.from({ length: 12 }, () => f.post("/saga", order)));
    const refused = answers.filter((a) => a.status === 429);
    const done = answers.filter((a) => a.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(done.length).toBeGreaterThan(0);
    expect(refused.length + done.length).toBe(12);
    for (const r of refused) {
      expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(r.body.error).toContain("too many sagas in flight");
    }
    const all = await f.get("/sagas?pageSize=1000");
    expect(all.body.sagas).toHaveLength(done.length);
    const after = await takeSnapshot(f.system.urls);
    expect(after.totalBalanceCents).toBe(f.initial.totalBalanceCents - 2500 * done.length);
  });

  it("refuses an oversized gRPC request with RESOURCE_EXHAUSTED before any handler runs", async () => {
    const payments = createServiceClient(PaymentsService, f.system.urls.payments);
    await expect(
      payments.authorizePayment({ idempotencyKey: "k".repeat(5 * 1024 * 1024), customerId: "customer-1", amountCents: 1n }),
    ).rejects.toMatchObject({
      code: Code.ResourceExhausted,
    });
    payments.close();
    // A generous deadline: encoding 600,000 lines takes seconds on a loaded machine, and the
    // answer under test is the server's refusal, not the client's deadline.
    const orchestrator = createServiceClient(OrchestratorService, f.system.urls.orchestrator, { timeoutMs: 120_000 });
    const items = Array.from({ length: 600_000 }, () => ({ productId: "mouse", quantity: 1 }));
    await expect(orchestrator.startSaga({ order: { customerId: "customer-1", items } })).rejects.toMatchObject({ code: Code.ResourceExhausted });
    orchestrator.close();
  }, 180_000);
});
