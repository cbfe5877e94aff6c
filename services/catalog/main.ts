// Composition root of the catalog service.
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { serve } from "#platform/grpc-server.js";
import { runService } from "#platform/run-service.js";
import { Catalog } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { catalogHandlers } from "./handlers.js";
import { SqliteProductStore } from "./product-store.js";

await runService("catalog", 5001, ({ db, log, demo }) => {
  const store = new SqliteProductStore(db);
  if (store.seedIfEmpty(DEMO_PRODUCTS)) log.info({ products: DEMO_PRODUCTS.length }, "seeded demo products");
  return { binding: serve(CatalogService, catalogHandlers(new Catalog(store), demo)), close: () => store.close() };
});
