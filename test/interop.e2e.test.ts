import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// A client that shares no code with ours: grpc-js stubs loaded by @grpc/proto-loader straight
// from proto/, calling every RPC of every service (and the orchestrator) over the wire.
const PROTO = fileURLToPath(new URL("../proto", import.meta.url));
const definition = protoLoader.loadSync(
  [
    "saga/catalog/v1/catalog.proto",
    "saga/payments/v1/payments.proto",
    "saga/purchases/v1/purchases.proto",
    "saga/inventory/v1/inventory.proto",
    "saga/orchestrator/v1/orchestrator.proto",
  ],
  { includeDirs: [PROTO], longs: String, enums: String, defaults: true },
);
const pkg = grpc.loadPackageDefinition(definition) as any;

type Stub = Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: any) => void) => void>;
const stubs: grpc.Client[] = [];
function stub(Ctor: grpc.ServiceClientConstructor, url: string): Stub {
  const client = new Ctor(new URL(url).host, grpc.credentials.createInsecure());
  stubs.push(client);
  return client as unknown as Stub;
}
function call(s: Stub, method: string, req: object): Promise<any> {
  return new Promise((resolve, reject) =>
    s[method]!(req, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

describe("interop: proto-loader grpc-js clients against every service", () => {
  let f: SystemFixture;
  beforeAll(async () => {
    f = await startFixture();
  }, 120_000);
  afterAll(async () => {
    stubs.forEach((s) => s.close());
    await f?.close();
  });

  it("catalog: GetProduct, ListProducts, PriceOrder", async () => {
    const c = stub(pkg.saga.catalog.v1.CatalogService, f.system.urls.catalog);
    expect((await call(c, "GetProduct", { productId: "notebook" })).product).toMatchObject({ name: "Notebook", priceCents: "150000" });
    expect((await call(c, "ListProducts", {})).products.length).toBeGreaterThanOrEqual(5);
    expect(await call(c, "PriceOrder", { lines: [{ productId: "mouse", quantity: 2 }] })).toMatchObject({ totalCents: "5000" });
    await expect(call(c, "GetProduct", { productId: "unicorn" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("payments: authorize, repeat, capture, void, reads", async () => {
    const p = stub(pkg.saga.payments.v1.PaymentsService, f.system.urls.payments);
    const req = { idempotencyKey: "interop-pay-1", customerId: "customer-2", amountCents: "1000" };
    const first = await call(p, "AuthorizePayment", req);
    expect(first.payment.status).toBe("PAYMENT_STATUS_AUTHORIZED");
    expect(await call(p, "AuthorizePayment", req)).toEqual(first);
    expect((await call(p, "GetAccount", { customerId: "customer-2" })).account).toMatchObject({
      balanceCents: "500000",
      heldCents: "1000",
      availableCents: "499000",
    });
    expect((await call(p, "VoidPayment", { idempotencyKey: "interop-pay-1" })).payment.status).toBe("PAYMENT_STATUS_VOIDED");
    expect((await call(p, "GetPayment", { idempotencyKey: "interop-pay-1" })).payment.status).toBe("PAYMENT_STATUS_VOIDED");
    await expect(call(p, "CapturePayment", { idempotencyKey: "interop-pay-1" })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    await call(p, "AuthorizePayment", { ...req, idempotencyKey: "interop-pay-2" });
    expect((await call(p, "CapturePayment", { idempotencyKey: "interop-pay-2" })).payment.status).toBe("PAYMENT_STATUS_CAPTURED");
    await expect(call(p, "VoidPayment", { idempotencyKey: "interop-pay-2" })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    expect((await call(p, "GetAccount", { customerId: "customer-2" })).account).toMatchObject({ balanceCents: "499000", heldCents: "0" });
    expect((await call(p, "ListAccounts", {})).accounts.length).toBeGreaterThanOrEqual(3);
    expect((await call(p, "ListPayments", { pageSize: 10 })).payments.length).toBeGreaterThanOrEqual(2);
    await expect(call(p, "AuthorizePayment", { ...req, idempotencyKey: "" })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
  });

  it("purchases: process, cancel first then late process, confirm, reads", async () => {
    const p = stub(pkg.saga.purchases.v1.PurchasesService, f.system.urls.purchases);
    const lines = [{ productId: "mouse", quantity: 1, unitPriceCents: "2500" }];
    expect((await call(p, "CancelPurchase", { idempotencyKey: "interop-pur-1" })).purchase.status).toBe("PURCHASE_STATUS_VOIDED");
    await expect(
      call(p, "ProcessPurchase", { idempotencyKey: "interop-pur-1", customerId: "customer-1", lines, totalCents: "2500" }),
    ).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    const ok = await call(p, "ProcessPurchase", { idempotencyKey: "interop-pur-2", customerId: "customer-1", lines, totalCents: "2500" });
    expect(ok.purchase.status).toBe("PURCHASE_STATUS_PENDING");
    expect((await call(p, "ConfirmPurchase", { idempotencyKey: "interop-pur-2" })).purchase.status).toBe("PURCHASE_STATUS_CONFIRMED");
    expect((await call(p, "GetPurchase", { idempotencyKey: "interop-pur-2" })).purchase.totalCents).toBe("2500");
    expect((await call(p, "ListPurchases", {})).purchases.length).toBeGreaterThanOrEqual(2);
    await expect(call(p, "CancelPurchase", { idempotencyKey: "interop-pur-2" })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
  });

  it("inventory: reserve, release, commit, reads", async () => {
    const i = stub(pkg.saga.inventory.v1.InventoryService, f.system.urls.inventory);
    const before = Number((await call(i, "GetStock", { productId: "keyboard" })).stock.quantity);
    expect(
      (await call(i, "ReserveStock", { idempotencyKey: "interop-inv-1", lines: [{ productId: "keyboard", quantity: 3 }] })).reservation.status,
    ).toBe("RESERVATION_STATUS_RESERVED");
    expect((await call(i, "GetStock", { productId: "keyboard" })).stock).toMatchObject({
      quantity: String(before),
      reserved: "3",
      available: String(before - 3),
    });
    expect((await call(i, "ReleaseStock", { idempotencyKey: "interop-inv-1" })).reservation.status).toBe("RESERVATION_STATUS_RELEASED");
    expect((await call(i, "GetStock", { productId: "keyboard" })).stock).toMatchObject({ quantity: String(before), reserved: "0" });
    await call(i, "ReserveStock", { idempotencyKey: "interop-inv-2", lines: [{ productId: "keyboard", quantity: 2 }] });
    expect((await call(i, "CommitStock", { idempotencyKey: "interop-inv-2" })).reservation.status).toBe("RESERVATION_STATUS_COMMITTED");
    expect((await call(i, "GetStock", { productId: "keyboard" })).stock).toMatchObject({ quantity: String(before - 2), reserved: "0" });
    expect((await call(i, "ListStock", {})).stock.length).toBeGreaterThanOrEqual(5);
    expect((await call(i, "ListReservations", { pageSize: 5 })).reservations.length).toBeGreaterThanOrEqual(2);
  });

  it("orchestrator: start, get, list, watch", async () => {
    const o = stub(pkg.saga.orchestrator.v1.OrchestratorService, f.system.urls.orchestrator);
    const started = await call(o, "StartSaga", { order: { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] }, waitMs: 10_000 });
    // StartSaga answers once the outcome is decided: CONFIRMING, or COMPLETED if the confirmations were quick.
    expect(["SAGA_STATUS_CONFIRMING", "SAGA_STATUS_COMPLETED"]).toContain(started.saga.status);
    let saga = (await call(o, "GetSaga", { sagaId: started.saga.sagaId })).saga;
    for (let i = 0; i < 100 && saga.status !== "SAGA_STATUS_COMPLETED"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      saga = (await call(o, "GetSaga", { sagaId: started.saga.sagaId })).saga;
    }
    expect(saga.status).toBe("SAGA_STATUS_COMPLETED");
    // Four actions, then three confirmations (the catalog's read has none).
    expect(saga.steps.map((s: any) => s.phase)).toEqual([...Array(4).fill("STEP_PHASE_ACTION"), ...Array(3).fill("STEP_PHASE_CONFIRMATION")]);
    expect((await call(o, "ListSagas", { statuses: ["SAGA_STATUS_COMPLETED"] })).sagas.length).toBeGreaterThanOrEqual(1);
    const events: any[] = [];
    const stream = (o as any).WatchSagas({ sagaId: "" }) as grpc.ClientReadableStream<any>;
    stream.on("data", (e: any) => events.push(e.event));
    stream.on("error", () => {});
    await new Promise((r) => setTimeout(r, 200));
    await call(o, "StartSaga", { order: { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] }, waitMs: 10_000 });
    // The answer and the watched events travel on different streams: wait for the last event.
    await vi.waitFor(() => expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(["saga-created", "saga-completed"])));
    stream.cancel();
    await expect(
      call(o, "RetrySaga", { sagaId: started.saga.sagaId, actor: "interop", reason: "a completed saga cannot be retried" }),
    ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
  });
});
