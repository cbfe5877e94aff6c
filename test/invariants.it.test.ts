import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { describeError, isRetryable } from "#platform/rpc-errors.js";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog } from "../services/catalog/catalog.js";
import { DEMO_PRODUCTS } from "../services/catalog/demo-data.js";
import { catalogHandlers } from "../services/catalog/handlers.js";
import { SqliteProductStore } from "../services/catalog/product-store.js";
import { DEMO_STOCK } from "../services/inventory/demo-data.js";
import { inventoryHandlers } from "../services/inventory/handlers.js";
import { Inventory } from "../services/inventory/inventory.js";
import { SqliteInventoryStore } from "../services/inventory/inventory-store.js";
import { DEMO_ACCOUNTS } from "../services/payments/demo-data.js";
import { paymentsHandlers } from "../services/payments/handlers.js";
import { SqlitePaymentStore } from "../services/payments/payment-store.js";
import { Payments } from "../services/payments/payments.js";
import { purchasesHandlers } from "../services/purchases/handlers.js";
import { SqlitePurchaseStore } from "../services/purchases/purchase-store.js";
import { Purchases } from "../services/purchases/purchases.js";
import { createRunner, type Runner } from "../orchestrator/engine/runner.js";
import { InMemorySagaStore } from "../orchestrator/engine/saga-store.js";
import { orchestratorHandlers } from "../orchestrator/handlers.js";
import { orderSaga, type OrderClients } from "../orchestrator/order-saga/order-saga.js";
import { checkInvariants, takeSnapshot, type Snapshot } from "../system/invariants.js";

// The invariant checker against the real services and orchestrator handlers, each a grpc-js
// server on port 0 over SQLite files in a temp dir: it passes on a consistent state, and
// names each break when the state is made inconsistent behind the services' backs.

const log = createLogger("test", "silent");
let dir: string;
const servers: GrpcServer[] = [];
const stores: { close(): void }[] = [];
let clients: OrderClients & { close(): void };
let orchestrator: ServiceClient<typeof OrchestratorService>;
let urls: { orchestrator: string; payments: string; purchases: string; inventory: string };
let definition: ReturnType<typeof orderSaga>;
let initial: Snapshot;
let runner: Runner;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "invariants-"));
  const products = new SqliteProductStore(openDatabase(join(dir, "catalog.db")));
  products.seedIfEmpty(DEMO_PRODUCTS);
  const payments = new SqlitePaymentStore(openDatabase(join(dir, "payments.db")));
  payments.seedIfEmpty(DEMO_ACCOUNTS);
  const purchases = new SqlitePurchaseStore(openDatabase(join(dir, "purchases.db")));
  const inventory = new SqliteInventoryStore(openDatabase(join(dir, "inventory.db")));
  inventory.seedIfEmpty(DEMO_STOCK);
  stores.push(products, payments, purchases, inventory);
  const start = async (binding: Parameters<typeof startGrpcServer>[0]["services"][number]) => {
    const server = await startGrpcServer({ services: [binding], host: "127.0.0.1", port: 0, log });
    servers.push(server);
    return server.url;
  };
  const catalogUrl = await start(serve(CatalogService, catalogHandlers(new Catalog(products), DEMO_OFF)));
  const paymentsUrl = await start(serve(PaymentsService, paymentsHandlers(new Payments(payments), DEMO_OFF)));
  const purchasesUrl = await start(serve(PurchasesService, purchasesHandlers(new Purchases(purchases), DEMO_OFF)));
  const inventoryUrl = await start(serve(InventoryService, inventoryHandlers(new Inventory(inventory), DEMO_OFF)));
  const c = {
    catalog: createServiceClient(CatalogService, catalogUrl),
    payments: createServiceClient(PaymentsService, paymentsUrl),
    purchases: createServiceClient(PurchasesService, purchasesUrl),
    inventory: createServiceClient(InventoryService, inventoryUrl),
  };
  clients = { ...c, close: () => Object.values(c).forEach((x) => x.close()) };
  definition = orderSaga(clients, { retry: { initialDelayMs: 0, maxDelayMs: 0 }, compensationRetry: { initialDelayMs: 0, maxDelayMs: 0 } });
  runner = createRunner({ store: new InMemorySagaStore(), definitions: [definition], isRetryable, describeError });
  const orchestratorUrl = await start(serve(OrchestratorService, orchestratorHandlers(runner)));
  orchestrator = createServiceClient(OrchestratorService, orchestratorUrl);
  urls = { orchestrator: orchestratorUrl, payments: paymentsUrl, purchases: purchasesUrl, inventory: inventoryUrl };
  initial = await takeSnapshot(urls);
});

afterAll(async () => {
  orchestrator?.close();
  clients?.close();
  for (const s of servers) await s.close();
  for (const s of stores) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one saga to its end: StartSaga answers once decided, then the confirmations of a completing saga run. */
async function runSaga(customerId: string, productId: string, quantity: number): Promise<{ sagaId: string; status: SagaStatus }> {
  const { saga } = await orchestrator.startSaga({ order: { customerId, items: [{ productId, quantity }] }, waitMs: 10_000 });
  await runner.wait(saga!.sagaId, 10_000, "terminal");
  const final = (await orchestrator.getSaga({ sagaId: saga!.sagaId })).saga!;
  return { sagaId: final.sagaId, status: final.status };
}

describe("checkInvariants", () => {
  it("finds nothing wrong after completed and compensated sagas, and names every break made behind the services' backs", async () => {
    const completed = await runSaga("customer-2", "mouse", 2);
    const refused = await runSaga("customer-1", "webcam", 1);
    expect([completed.status, refused.status]).toEqual([SagaStatus.COMPLETED, SagaStatus.COMPENSATED]);
    expect(await checkInvariants(urls, initial)).toEqual({ sagas: 2, byStatus: { COMPLETED: 1, COMPENSATED: 1 }, violations: [] });

    // A hold nobody authorized, a reservation for a saga that does not exist, a compensated
    // saga's purchase turned back to PENDING, and a completed saga's reservation that says it
    // took more than its order.
    const payments = new Database(join(dir, "payments.db"));
    payments.prepare("UPDATE accounts SET held_cents = held_cents + 7 WHERE customer_id = 'customer-3'").run();
    payments.close();
    await clients.inventory.reserveStock({ idempotencyKey: "ghost:take-stock", lines: [{ productId: "keyboard", quantity: 1 }] });
    const purchases = new Database(join(dir, "purchases.db"));
    purchases.prepare("UPDATE purchases SET status = 'PENDING' WHERE key = ?").run(`${refused.sagaId}:record-purchase`);
    purchases.close();
    const stock = new Database(join(dir, "inventory.db"));
    stock.prepare("UPDATE reservations SET lines = ? WHERE key = ?").run('[{"productId":"mouse","quantity":3}]', `${completed.sagaId}:take-stock`);
    stock.close();

    const report = await checkInvariants(urls, initial);
    expect(report.violations).toEqual([
      "money: customer-3 holds 7 != Σ authorized 0",
      "stock of mouse: 999998 != initial − committed = 999997",
      // Sagas are listed newest first.
      `saga ${refused.sagaId} COMPENSATED but a pending record is left: payment/purchase/reservation = VOIDED/PENDING/REJECTED`,
      `saga ${completed.sagaId} COMPLETED but its reservation [["mouse",3]] is not its order [["mouse",2]]`,
      "ghost:take-stock stands but its saga does not exist",
    ]);
  });
});
