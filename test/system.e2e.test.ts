import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { checkInvariants } from "../system/invariants.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

// The six real processes, POST /saga through success and through a failure at each step,
// then the system's invariants read from every service's state. Each test stands alone (run
// any one with -t): it makes the sagas it looks at.
describe("the order saga end to end, six processes", () => {
  let f: SystemFixture;
  beforeAll(async () => {
    f = await startFixture();
  }, 120_000);
  afterAll(() => f?.close());

  it("POST /saga with no body runs the default order, as the seed did", async () => {
    const res = await f.post("/saga");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ mensaje: "Saga completada con éxito", totalCents: 150000 });
    // Answered once decided: its confirmations may still be running.
    expect(["CONFIRMING", "COMPLETED"]).toContain(res.body.status);
    expect(res.body.sagaId).toEqual(expect.any(String));
  });

  it.each([
    ["catalog", { customerId: "customer-1", items: [{ productId: "unicorn", quantity: 1 }] }, "Fallo en el catálogo", "price-order", []],
    [
      "payments",
      { customerId: "customer-3", items: [{ productId: "notebook", quantity: 1 }] },
      "Fallo en el pago",
      "charge-payment",
      ["charge-payment"],
    ],
    [
      "purchases",
      { customerId: "customer-1", items: [{ productId: "mouse", quantity: 11 }] },
      "Fallo en la compra, pago compensado",
      "record-purchase",
      ["record-purchase", "charge-payment"],
    ],
    [
      "inventory",
      { customerId: "customer-1", items: [{ productId: "webcam", quantity: 1 }] },
      "Fallo en inventario, compra y pago compensados",
      "take-stock",
      ["take-stock", "record-purchase", "charge-payment"],
    ],
  ])("a failure at %s answers 409 with the seed's message and compensates in reverse", async (_s, order, message, failedStep, compensations) => {
    const res = await f.post("/saga", order);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: message, status: "COMPENSATED", failedStep });
    const history = await f.get(`/saga/${res.body.sagaId}`);
    expect(history.status).toBe(200);
    const done = history.body.steps.filter((s: any) => s.phase === "compensation").map((s: any) => s.name);
    expect(done).toEqual(compensations);
    expect(history.body.steps.every((s: any) => s.status !== "RUNNING")).toBe(true);
  });

  it("answers 400 naming the field on bad input, and starts nothing", async () => {
    const before = (await f.get("/sagas?pageSize=1000")).body.sagas.length;
    const cases: Array<[unknown, string]> = [
      [{ customerId: 7, items: [] }, "customerId"],
      [{ customerId: "customer-1", items: [{ productId: "mouse", quantity: 0 }] }, "items[0].quantity"],
      [{ customerId: "customer-1", items: [{ productId: "mouse", quantity: 1.5 }] }, "items[0].quantity"],
      [{ customerId: "customer-1", items: [] }, "items"],
      [{ customerId: "", items: [{ productId: "mouse", quantity: 1 }] }, "customerId"],
      ["{not json", "body"],
    ];
    for (const [body, field] of cases) {
      const res = await f.post("/saga", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toContain(field);
    }
    expect((await f.get("/sagas?pageSize=1000")).body.sagas.length).toBe(before);
  });

  it("maps one Idempotency-Key to one saga: same answer on repeat, refusal for another order", async () => {
    const order = { customerId: "customer-2", items: [{ productId: "mouse", quantity: 2 }] };
    const first = await f.post("/saga", order, { "idempotency-key": "order-42" });
    const again = await f.post("/saga", order, { "idempotency-key": "order-42" });
    expect(first.status).toBe(200);
    expect(again.status).toBe(first.status);
    // The same saga and answer; only its status may have moved on from CONFIRMING to COMPLETED.
    expect({ ...again.body, status: "" }).toEqual({ ...first.body, status: "" });
    expect(["CONFIRMING", "COMPLETED"]).toContain(again.body.status);
    const other = await f.post("/saga", { ...order, items: [{ productId: "mouse", quantity: 3 }] }, { "idempotency-key": "order-42" });
    expect(other.status).toBe(409);
    expect(other.body.error).toMatch(/order-42/);
  });

  it("lists sagas by status, with paging, filtered by creation time", async () => {
    // Its own sagas, so it needs no other test: five compensated (an unknown product changes
    // nothing) and one completed, all created after `since`.
    const since = new Date(Date.now() - 1).toISOString();
    const compensated: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await f.post("/saga", { customerId: "customer-1", items: [{ productId: `unicorn-${i}`, quantity: 1 }] });
      expect(res.status).toBe(409);
      compensated.push(res.body.sagaId);
    }
    const completed = await f.post("/saga", { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] });
    expect(completed.status).toBe(200);

    const listed: string[] = [];
    let url = `/sagas?status=COMPENSATED&pageSize=2&createdAfter=${since}`;
    for (let page = 0; page < 10; page++) {
      const res = await f.get(url);
      expect(res.status).toBe(200);
      expect(res.body.sagas.length).toBeLessThanOrEqual(2);
      expect(res.body.sagas.every((s: any) => s.status === "COMPENSATED")).toBe(true);
      listed.push(...res.body.sagas.map((s: any) => s.sagaId));
      if (res.body.nextPageToken === null) break;
      url = `/sagas?status=COMPENSATED&pageSize=2&createdAfter=${since}&pageToken=${encodeURIComponent(res.body.nextPageToken)}`;
    }
    // Newest first, each once, the completed one filtered out.
    expect(listed).toEqual([...compensated].reverse());
    const both = await f.get(`/sagas?status=COMPENSATED,COMPLETED&createdAfter=${since}`);
    expect(both.body.sagas.map((s: any) => s.sagaId)).toEqual([completed.body.sagaId, ...[...compensated].reverse()]);

    const future = await f.get(`/sagas?createdAfter=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.body.sagas).toEqual([]);
    const past = await f.get(`/sagas?createdBefore=${new Date(Date.now() + 60_000).toISOString()}&pageSize=1`);
    expect(past.body.sagas).toHaveLength(1);
    expect((await f.get("/sagas?createdAfter=yesterday")).status).toBe(400);
    expect((await f.get("/saga/does-not-exist")).status).toBe(404);
    expect((await f.get("/sagas?status=DONE")).status).toBe(400);
    // A filter the gateway does not understand is refused, never dropped.
    expect((await f.get("/sagas?status[]=COMPENSATED")).status).toBe(400);
    expect((await f.get("/sagas?status=COMPENSATED&status=COMPLETED")).status).toBe(400);
  });

  it("keeps every invariant after a success and a failure at each step", async () => {
    // Its own sagas, so it needs no other test.
    const orders: Array<[unknown, number]> = [
      [undefined, 200],
      [{ customerId: "customer-1", items: [{ productId: "keyboard", quantity: 2 }] }, 200],
      [{ customerId: "customer-1", items: [{ productId: "unicorn", quantity: 1 }] }, 409],
      [{ customerId: "customer-3", items: [{ productId: "notebook", quantity: 1 }] }, 409],
      [{ customerId: "customer-1", items: [{ productId: "mouse", quantity: 11 }] }, 409],
      [{ customerId: "customer-1", items: [{ productId: "webcam", quantity: 1 }] }, 409],
    ];
    for (const [order, status] of orders) expect((await f.post("/saga", order)).status).toBe(status);
    const report = await checkInvariants(f.system.urls, f.initial);
    expect(report.violations).toEqual([]);
    expect(report.byStatus.COMPLETED).toBeGreaterThanOrEqual(2);
    expect(report.byStatus.COMPENSATED).toBeGreaterThanOrEqual(4);
  });

  it("serves health and reflection on every gRPC server: buf curl lists and calls by reflection alone", async () => {
    const buf = `${ROOT}node_modules/.bin/buf`;
    const curl = ["curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const expected = {
      orchestrator: "saga.orchestrator.v1.OrchestratorService",
      catalog: "saga.catalog.v1.CatalogService",
      payments: "saga.payments.v1.PaymentsService",
      purchases: "saga.purchases.v1.PurchasesService",
      inventory: "saga.inventory.v1.InventoryService",
    } as const;
    for (const [name, service] of Object.entries(expected)) {
      const url = f.system.urls[name as keyof typeof expected];
      const { stdout } = await run(buf, [...curl, "--list-services", url]);
      expect(stdout).toContain(service);
      expect(stdout).toContain("grpc.health.v1.Health");
    }
    const call = await run(buf, [
      ...curl,
      "-d",
      '{"customerId":"customer-1"}',
      `${f.system.urls.payments}/saga.payments.v1.PaymentsService/GetAccount`,
    ]);
    expect(JSON.parse(call.stdout).account.customerId).toBe("customer-1");
    const health = await run(buf, [...curl, "-d", "{}", `${f.system.urls.inventory}/grpc.health.v1.Health/Check`]);
    expect(JSON.parse(health.stdout)).toEqual({ status: "SERVING" });
  });
});
