import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { createDemoMode } from "#platform/demo-mode.js";
import { serve, startGrpcServer } from "#platform/grpc-server.js";
import { createLogger, logListening } from "#platform/logger.js";
import { readServiceConfig } from "#platform/service-config.js";
import { onShutdown } from "#platform/shutdown.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_STOCK } from "./demo-data.js";
import { inventoryHandlers } from "./handlers.js";
import { Inventory } from "./inventory.js";
import { SqliteInventoryStore } from "./inventory-store.js";

// Composition root of the inventory service: config → logger → store → domain → gRPC server.
const config = readServiceConfig("inventory", 5004);
const log = createLogger("inventory", config.logLevel);
const store = new SqliteInventoryStore(openDatabase(config.databasePath, config.durability));
if (store.seedIfEmpty(DEMO_STOCK)) log.info({ products: DEMO_STOCK.length }, "seeded demo stock");
const inventory = new Inventory(store);
const server = await startGrpcServer({
  services: [serve(InventoryService, inventoryHandlers(inventory, createDemoMode(config.demo)))],
  host: config.host,
  port: config.port,
  log,
});
logListening(log, { url: server.url, database: config.databasePath });
onShutdown(log, async () => {
  await server.close();
  store.close();
});
