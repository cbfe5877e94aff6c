// Composition root of the payments service.
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { serve } from "#platform/grpc-server.js";
import { runService } from "#platform/run-service.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { paymentsHandlers } from "./handlers.js";
import { SqlitePaymentStore } from "./payment-store.js";
import { Payments } from "./payments.js";

await runService("payments", 5002, ({ db, log, demo }) => {
  const store = new SqlitePaymentStore(db);
  if (store.seedIfEmpty(DEMO_ACCOUNTS)) log.info({ accounts: DEMO_ACCOUNTS.length }, "seeded demo accounts");
  return { binding: serve(PaymentsService, paymentsHandlers(new Payments(store), demo)), close: () => store.close() };
});
