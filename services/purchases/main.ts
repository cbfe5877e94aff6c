import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { integer, readEnv } from "#platform/config.js";
import { createDemoMode } from "#platform/demo-mode.js";
import { serve, startGrpcServer } from "#platform/grpc-server.js";
import { createLogger, logListening } from "#platform/logger.js";
import { readServiceConfig } from "#platform/service-config.js";
import { onShutdown } from "#platform/shutdown.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_MAX_UNITS_PER_ORDER } from "./demo-data.js";
import { purchasesHandlers } from "./handlers.js";
import { SqlitePurchaseStore } from "./purchase-store.js";
import { Purchases } from "./purchases.js";

// Composition root of the purchases service: config → logger → store → domain → gRPC server.
const config = readServiceConfig("purchases", 5003);
const { MAX_UNITS_PER_ORDER: maxUnitsPerOrder } = readEnv({ MAX_UNITS_PER_ORDER: integer(DEMO_MAX_UNITS_PER_ORDER, 1, 1_000_000) });
const log = createLogger("purchases", config.logLevel);
const store = new SqlitePurchaseStore(openDatabase(config.databasePath, config.durability));
const purchases = new Purchases(store, { maxUnitsPerOrder });
const server = await startGrpcServer({
  services: [serve(PurchasesService, purchasesHandlers(purchases, createDemoMode(config.demo)))],
  host: config.host,
  port: config.port,
  log,
});
logListening(log, { url: server.url, database: config.databasePath, maxUnitsPerOrder });
onShutdown(log, async () => {
  await server.close();
  store.close();
});
