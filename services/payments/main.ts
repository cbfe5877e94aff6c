// Composition root of the payments service.
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { serve } from "#platform/grpc-server.js";
import { runService } from "#platform/run-service.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { paymentsHandlers } from "./handlers.js";
import { SqlitePaymentStore } from "./payment-store.js";
import { Payments } from "./payments.js";
import { PostgresPaymentStore } from "./postgres-payment-store.js";

await runService("payments", 5002, async ({ database, log, demo }) => {
  const store =
    database.kind === "sqlite"
      ? new SqlitePaymentStore(database.db)
      : await PostgresPaymentStore.open(database.pool, {
          onRetry: ({ attempt, delayMs, error }) => log.warn({ attempt, delayMs, err: error.message }, "a write batch is sent again"),
        });
  if (await store.seedIfEmpty(DEMO_ACCOUNTS)) log.info({ accounts: DEMO_ACCOUNTS.length }, "seeded demo accounts");
  return { binding: serve(PaymentsService, paymentsHandlers(new Payments(store), demo)), close: () => store.close() };
});
