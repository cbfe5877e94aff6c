// Composition root of the purchases service.
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { integer, readEnv } from "#platform/config.js";
import { serve } from "#platform/grpc-server.js";
import { runService } from "#platform/run-service.js";
import { DEMO_MAX_UNITS_PER_ORDER } from "./demo-data.js";
import { purchasesHandlers } from "./handlers.js";
import { PostgresPurchaseStore } from "./postgres-purchase-store.js";
import { SqlitePurchaseStore } from "./purchase-store.js";
import { Purchases } from "./purchases.js";

const { MAX_UNITS_PER_ORDER: maxUnitsPerOrder } = readEnv({ MAX_UNITS_PER_ORDER: integer(DEMO_MAX_UNITS_PER_ORDER, 1, 1_000_000) });

await runService("purchases", 5003, async ({ database, log, demo }) => {
  const store =
    database.kind === "sqlite"
      ? new SqlitePurchaseStore(database.db)
      : await PostgresPurchaseStore.open(database.pool, {
          onRetry: ({ attempt, delayMs, error }) => log.warn({ attempt, delayMs, err: error.message }, "a write batch is sent again"),
        });
  return {
    binding: serve(PurchasesService, purchasesHandlers(new Purchases(store, { maxUnitsPerOrder }), demo)),
    close: () => store.close(),
    startFields: { maxUnitsPerOrder },
  };
});
