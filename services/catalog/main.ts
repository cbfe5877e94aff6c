// Composition root of the catalog service.
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { serve } from "#platform/grpc-server.js";
import { runService } from "#platform/run-service.js";
import { Catalog } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { catalogHandlers } from "./handlers.js";
import { PostgresProductStore } from "./postgres-product-store.js";
import { SqliteProductStore } from "./product-store.js";

await runService("catalog", 5001, async ({ database, log, demo }) => {
  const store = database.kind === "sqlite" ? new SqliteProductStore(database.db) : await PostgresProductStore.open(database.pool);
  if (await store.seedIfEmpty(DEMO_PRODUCTS)) log.info({ products: DEMO_PRODUCTS.length }, "seeded demo products");
  return { binding: serve(CatalogService, catalogHandlers(new Catalog(store), demo)), close: () => store.close() };
});
