import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { describeError, isRetryable } from "#platform/rpc-errors.js";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog, type Product } from "../services/catalog/catalog.js";
import { catalogHandlers } from "../services/catalog/handlers.js";
import { SqliteProductStore } from "../services/catalog/product-store.js";
import { DEMO_PRODUCTS } from "../services/catalog/demo-data.js";
import { Payments, type OpeningBalance } from "../services/payments/payments.js";
import { paymentsHandlers } from "../services/payments/handlers.js";
import { SqlitePaymentStore } from "../services/payments/payment-store.js";
import { DEMO_ACCOUNTS } from "../services/payments/demo-data.js";
import { Purchases } from "../services/purchases/purchases.js";
import { purchasesHandlers } from "../services/purchases/handlers.js";
import { SqlitePurchaseStore } from "../services/purchases/purchase-store.js";
import { Inventory, type StockLine } from "../services/inventory/inventory.js";
import { inventoryHandlers } from "../services/inventory/handlers.js";
import { SqliteInventoryStore } from "../services/inventory/inventory-store.js";
import { DEMO_STOCK } from "../services/inventory/demo-data.js";
import { createRunner } from "../orchestrator/engine/runner.js";
import { InMemorySagaStore } from "../orchestrator/engine/saga-store.js";
import { orderSaga } from "../orchestrator/order-saga/order-saga.js";
import { orchestratorHandlers } from "../orchestrator/handlers.js";

/** What the services start with; the demo data when left out. */
export interface Seeds {
  readonly products?: readonly Product[];
  readonly accounts?: readonly OpeningBalance[];
  readonly stock?: readonly StockLine[];
}

/**
 * The whole order saga in one process: the real handlers of the four services on real
 * in-memory SQLite, reached over Connect's in-memory transport, under the real engine (no
 * backoff delays) and the orchestrator's API. Faults are injected in the transport (a
 * dependency, `interceptors`), never through API fields.
 */
export function inProcessSystem(options: { interceptors?: Interceptor[]; seeds?: Seeds } = {}) {
  const interceptors = options.interceptors ?? [];
  const via = (routes: Parameters<typeof createRouterTransport>[0]) => createRouterTransport(routes, { transport: { interceptors } });
  const products = new SqliteProductStore(openDatabase(":memory:"));
  products.seedIfEmpty(options.seeds?.products ?? DEMO_PRODUCTS);
  const payments = new SqlitePaymentStore(openDatabase(":memory:"));
  payments.seedIfEmpty(options.seeds?.accounts ?? DEMO_ACCOUNTS);
  const purchases = new SqlitePurchaseStore(openDatabase(":memory:"));
  const inventory = new SqliteInventoryStore(openDatabase(":memory:"));
  inventory.seedIfEmpty(options.seeds?.stock ?? DEMO_STOCK);
  const clients = {
    catalog: createClient(
      CatalogService,
      via((r) => r.service(CatalogService, catalogHandlers(new Catalog(products), DEMO_OFF))),
    ),
    payments: createClient(
      PaymentsService,
      via((r) => r.service(PaymentsService, paymentsHandlers(new Payments(payments), DEMO_OFF))),
    ),
    purchases: createClient(
      PurchasesService,
      via((r) => r.service(PurchasesService, purchasesHandlers(new Purchases(purchases), DEMO_OFF))),
    ),
    inventory: createClient(
      InventoryService,
      via((r) => r.service(InventoryService, inventoryHandlers(new Inventory(inventory), DEMO_OFF))),
    ),
  };
  const definition = orderSaga(clients, { retry: { initialDelayMs: 0, maxDelayMs: 0 }, compensationRetry: { initialDelayMs: 0, maxDelayMs: 0 } });
  const runner = createRunner({ store: new InMemorySagaStore(), definitions: [definition], isRetryable, describeError });
  const orchestrator = createClient(
    OrchestratorService,
    createRouterTransport((r) => r.service(OrchestratorService, orchestratorHandlers(runner))),
  );
  return { clients, orchestrator, definition, runner };
}

/** What {@link inProcessSystem} returns. */
export type InProcessSystem = ReturnType<typeof inProcessSystem>;
