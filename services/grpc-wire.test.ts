import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { PaymentStatus, PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchaseStatus, PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { createDemoMode } from "#platform/demo-mode.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog } from "./catalog/catalog.js";
import { DEMO_PRODUCTS } from "./catalog/demo-data.js";
import { catalogHandlers } from "./catalog/handlers.js";
import { SqliteProductStore } from "./catalog/product-store.js";
import { DEMO_STOCK } from "./inventory/demo-data.js";
import { inventoryHandlers } from "./inventory/handlers.js";
import { Inventory } from "./inventory/inventory.js";
import { SqliteInventoryStore } from "./inventory/inventory-store.js";
import { DEMO_ACCOUNTS } from "./payments/demo-data.js";
import { paymentsHandlers } from "./payments/handlers.js";
import { SqlitePaymentStore } from "./payments/payment-store.js";
import { Payments } from "./payments/payments.js";
import { purchasesHandlers } from "./purchases/handlers.js";
import { SqlitePurchaseStore } from "./purchases/purchase-store.js";
import { Purchases } from "./purchases/purchases.js";

// The same handler objects as the contract tests, mounted on the real grpc-js server on port
// 0: codes and int64 values must come through the wire unchanged.

const log = createLogger("test", "silent");
const demo = createDemoMode({ failureRate: 0, minLatencyMs: 0, maxLatencyMs: 0 });
let server: GrpcServer;
const stores: Array<{ close(): void }> = [];
let catalog: ServiceClient<typeof CatalogService>;
let payments: ServiceClient<typeof PaymentsService>;
let purchases: ServiceClient<typeof PurchasesService>;
let inventory: ServiceClient<typeof InventoryService>;

beforeAll(async () => {
  const productStore = new SqliteProductStore(openDatabase(":memory:"));
  productStore.seedIfEmpty(DEMO_PRODUCTS);
  const paymentStore = new SqlitePaymentStore(openDatabase(":memory:"));
  paymentStore.seedIfEmpty(DEMO_ACCOUNTS);
  const inventoryStore = new SqliteInventoryStore(openDatabase(":memory:"));
  inventoryStore.seedIfEmpty(DEMO_STOCK);
  const purchaseStore = new SqlitePurchaseStore(openDatabase(":memory:"));
  stores.push(productStore, paymentStore, inventoryStore, purchaseStore);
  server = await startGrpcServer({
    services: [
      serve(CatalogService, catalogHandlers(new Catalog(productStore), demo)),
      serve(PaymentsService, paymentsHandlers(new Payments(paymentStore), demo)),
      serve(PurchasesService, purchasesHandlers(new Purchases(purchaseStore), demo)),
      serve(InventoryService, inventoryHandlers(new Inventory(inventoryStore), demo)),
    ],
    host: "127.0.0.1",
    port: 0,
    log,
  });
  catalog = createServiceClient(CatalogService, server.url, { timeoutMs: 5_000 });
  payments = createServiceClient(PaymentsService, server.url, { timeoutMs: 5_000 });
  purchases = createServiceClient(PurchasesService, server.url, { timeoutMs: 5_000 });
  inventory = createServiceClient(InventoryService, server.url, { timeoutMs: 5_000 });
});

afterAll(async () => {
  for (const c of [catalog, payments, purchases, inventory]) c?.close();
  await server?.close();
  for (const s of stores) s.close();
});

const codeOf = (call: Promise<unknown>) => call.then(() => undefined, (e: unknown) => ConnectError.from(e).code);

describe("services over grpc-js", () => {
  it("catalog prices an order and answers NOT_FOUND / INVALID_ARGUMENT", async () => {
    const res = await catalog.priceOrder({ lines: [{ productId: "notebook", quantity: 2 }] });
    expect(res.totalCents).toBe(300_000n);
    expect(await codeOf(catalog.priceOrder({ lines: [{ productId: "tablet", quantity: 1 }] }))).toBe(Code.NotFound);
    expect(await codeOf(catalog.priceOrder({ lines: [] }))).toBe(Code.InvalidArgument);
  });

  it("payments charges once, refuses a reused key and a late charge", async () => {
    const req = { idempotencyKey: "wire-1", customerId: "customer-1", amountCents: 300_000n };
    expect((await payments.processPayment(req)).payment?.status).toBe(PaymentStatus.CHARGED);
    expect((await payments.processPayment(req)).payment?.status).toBe(PaymentStatus.CHARGED);
    expect((await payments.getAccount({ customerId: "customer-1" })).account?.balanceCents).toBe(999_700_000n);
    expect(await codeOf(payments.processPayment({ ...req, amountCents: 1n }))).toBe(Code.AlreadyExists);
    await payments.cancelPayment({ idempotencyKey: "wire-2" });
    expect(await codeOf(payments.processPayment({ ...req, idempotencyKey: "wire-2" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(payments.processPayment({ ...req, idempotencyKey: "wire-3", customerId: "customer-3" }))).toBe(Code.FailedPrecondition);
  });

  it("purchases enforces the unit limit", async () => {
    const line = { productId: "mouse", quantity: 11, unitPriceCents: 2_500n };
    expect(await codeOf(purchases.processPurchase({ idempotencyKey: "wire-1", customerId: "customer-1", lines: [line], totalCents: 27_500n }))).toBe(
      Code.FailedPrecondition,
    );
    const ok = await purchases.processPurchase({ idempotencyKey: "wire-2", customerId: "customer-1", lines: [{ ...line, quantity: 1 }], totalCents: 2_500n });
    expect(ok.purchase?.status).toBe(PurchaseStatus.CONFIRMED);
  });

  it("inventory takes and restores stock", async () => {
    const take = { idempotencyKey: "wire-1", lines: [{ productId: "monitor", quantity: 3 }] };
    expect((await inventory.updateInventory(take)).reservation?.status).toBe(ReservationStatus.TAKEN);
    expect((await inventory.getStock({ productId: "monitor" })).stock?.quantity).toBe(9_997n);
    expect((await inventory.restoreInventory({ idempotencyKey: "wire-1" })).reservation?.status).toBe(ReservationStatus.RESTORED);
    expect(await codeOf(inventory.updateInventory({ idempotencyKey: "wire-2", lines: [{ productId: "webcam", quantity: 1 }] }))).toBe(
      Code.FailedPrecondition,
    );
  });
});
