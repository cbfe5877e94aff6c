import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { createDemoMode } from "#platform/demo-mode.js";
import { serve, startGrpcServer } from "#platform/grpc-server.js";
import { createLogger, logListening } from "#platform/logger.js";
import { readServiceConfig } from "#platform/service-config.js";
import { onShutdown } from "#platform/shutdown.js";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { catalogHandlers } from "./handlers.js";
import { SqliteProductStore } from "./product-store.js";

// Composition root of the catalog service: config → logger → store → domain → gRPC server.
const config = readServiceConfig("catalog", 5001);
const log = createLogger("catalog", config.logLevel);
const store = new SqliteProductStore(openDatabase(config.databasePath, config.durability));
if (store.seedIfEmpty(DEMO_PRODUCTS)) log.info({ products: DEMO_PRODUCTS.length }, "seeded demo products");
const catalog = new Catalog(store);
const server = await startGrpcServer({
  services: [serve(CatalogService, catalogHandlers(catalog, createDemoMode(config.demo)))],
  host: config.host,
  port: config.port,
  log,
});
logListening(log, { url: server.url, database: config.databasePath });
onShutdown(log, async () => {
  await server.close();
  store.close();
});
