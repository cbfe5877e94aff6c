import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { checkInvariants, UNFINISHED_SAGA_STATUSES } from "../system/invariants.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// Hundreds of sagas in flight, the orchestrator killed with SIGKILL and restarted: every
// acknowledged saga ends terminal, and the invariants hold, read from every service. Once with
// DURABILITY=process (the default) and once, with fewer sagas, with DURABILITY=power.
const ORDERS = [
  { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] },
  {
    customerId: "customer-1",
    items: [
      { productId: "keyboard", quantity: 2 },
      { productId: "mouse", quantity: 1 },
    ],
  },
  { customerId: "customer-3", items: [{ productId: "notebook", quantity: 1 }] },
  { customerId: "customer-1", items: [{ productId: "mouse", quantity: 11 }] },
  { customerId: "customer-1", items: [{ productId: "webcam", quantity: 1 }] },
];

describe.each([
  { durability: "process", total: 700, killAt: 150 },
  { durability: "power", total: 400, killAt: 100 },
])("kill -9 of the orchestrator with hundreds of sagas in flight (DURABILITY=$durability)", ({ durability, total, killAt }) => {
  let f: SystemFixture;
  beforeAll(async () => {
    f = await startFixture({
      // Each call takes 200-400 ms, so a saga stays in flight for seconds and hundreds are in
      // flight at the kill however fast the engine is (at 50-150 ms, once calls travelled in
      // batches, as few as 40 were).
      env: { LOG_LEVEL: "warn", DEMO_LATENCY_MS: "200-400", DURABILITY: durability },
      envOf: { gateway: { SAGA_WAIT_MS: "0" } },
    });
  }, 120_000);
  afterAll(() => f?.close());

  it("loses nothing: every acknowledged saga resumes and ends terminal, invariants hold", async () => {
    // The processes really run with this durability (their "listening" lines say so).
    const said = f.logs.filter((l) => l.includes('"listening"') && l.includes('"durability"')).map((l) => l.match(/"durability":"(\w+)"/)?.[1]);
    expect(said).toHaveLength(5);
    expect(new Set(said)).toEqual(new Set([durability]));
    const acknowledged = new Set<string>();
    let sent = 0;
    const client = async (): Promise<void> => {
      while (sent < total) {
        const order = ORDERS[sent++ % ORDERS.length];
        const res = await f.post("/saga", order).catch(() => undefined);
        if (res?.status === 202 || res?.status === 200 || res?.status === 409) acknowledged.add(res.body.sagaId);
      }
    };
    const clients = Promise.all(Array.from({ length: 64 }, client));
    // Kill once at least `killAt` sagas are in flight (how soon depends on how busy the machine is).
    const orchestrator = createServiceClient(OrchestratorService, f.system.urls.orchestrator, { timeoutMs: 5_000 });
    const deadline = Date.now() + 30_000;
    let inFlight = 0;
    while (Date.now() < deadline) {
      inFlight = (await orchestrator.listSagas({ statuses: [...UNFINISHED_SAGA_STATUSES], pageSize: 1000 })).sagas.length;
      if (inFlight >= killAt || sent >= total) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    orchestrator.close();
    await f.system.kill("orchestrator");
    await clients;
    expect(inFlight).toBeGreaterThan(killAt * 0.66);

    const restartedAt = Date.now();
    await f.system.restart("orchestrator");
    const upAt = Date.now();
    const after = createServiceClient(OrchestratorService, f.system.urls.orchestrator, { timeoutMs: 5_000 });
    let unfinished = Infinity;
    while (unfinished > 0 && Date.now() - restartedAt < 60_000) {
      unfinished = (await after.listSagas({ statuses: [...UNFINISHED_SAGA_STATUSES], pageSize: 1000 })).sagas.length;
      if (unfinished > 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(unfinished).toBe(0);
    for (const id of acknowledged) {
      const { saga } = await after.getSaga({ sagaId: id });
      expect([SagaStatus.COMPLETED, SagaStatus.COMPENSATED]).toContain(saga?.status);
    }
    after.close();

    const report = await checkInvariants(f.system.urls, f.initial);
    console.log(
      `crash recovery (DURABILITY=${durability}): ${inFlight} sagas in flight at the kill, ${acknowledged.size} acknowledged, ` +
        `orchestrator healthy again ${upAt - restartedAt} ms after the restart began, ` +
        `all terminal ${Date.now() - upAt} ms later; by status ${JSON.stringify(report.byStatus)}; violations ${report.violations.length}`,
    );
    expect(report.violations).toEqual([]);
  }, 180_000);
});
