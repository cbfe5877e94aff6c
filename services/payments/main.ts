import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { createDemoMode } from "#platform/demo-mode.js";
import { serve, startGrpcServer } from "#platform/grpc-server.js";
import { createLogger, logListening } from "#platform/logger.js";
import { readServiceConfig } from "#platform/service-config.js";
import { onShutdown } from "#platform/shutdown.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { paymentsHandlers } from "./handlers.js";
import { SqlitePaymentStore } from "./payment-store.js";
import { Payments } from "./payments.js";

// Composition root of the payments service: config → logger → store → domain → gRPC server.
const config = readServiceConfig("payments", 5002);
const log = createLogger("payments", config.logLevel);
const store = new SqlitePaymentStore(openDatabase(config.databasePath, config.durability));
if (store.seedIfEmpty(DEMO_ACCOUNTS)) log.info({ accounts: DEMO_ACCOUNTS.length }, "seeded demo accounts");
const payments = new Payments(store);
const server = await startGrpcServer({
  services: [serve(PaymentsService, paymentsHandlers(payments, createDemoMode(config.demo)))],
  host: config.host,
  port: config.port,
  log,
});
logListening(log, { url: server.url, database: config.databasePath });
onShutdown(log, async () => {
  await server.close();
  store.close();
});
