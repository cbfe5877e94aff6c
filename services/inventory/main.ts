// Composition root of the inventory service.
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { serve } from "#platform/grpc-server.js";
import { runService } from "#platform/run-service.js";
import { DEMO_STOCK } from "./demo-data.js";
import { inventoryHandlers } from "./handlers.js";
import { Inventory } from "./inventory.js";
import { SqliteInventoryStore } from "./inventory-store.js";
import { PostgresInventoryStore } from "./postgres-inventory-store.js";

await runService("inventory", 5004, async ({ database, log, demo }) => {
  const store =
    database.kind === "sqlite"
      ? new SqliteInventoryStore(database.db)
      : await PostgresInventoryStore.open(database.pool, {
          onRetry: ({ attempt, delayMs, error }) => log.warn({ attempt, delayMs, err: error.message }, "a write batch is sent again"),
        });
  if (await store.seedIfEmpty(DEMO_STOCK)) log.info({ products: DEMO_STOCK.length }, "seeded demo stock");
  return { binding: serve(InventoryService, inventoryHandlers(new Inventory(store), demo)), close: () => store.close() };
});
