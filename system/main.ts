/**
 * `npm start`: the whole system on the embedded default (SQLite files under DATA_DIR, default
 * ./data), each process its own OS process with prefixed logs. Ctrl-C or SIGTERM stops all six.
 */
import { integer, readEnv, text } from "#platform/config.js";
import { startSystem } from "./start-system.js";

const env = readEnv({
  DATA_DIR: text("./data"),
  GATEWAY_PORT: integer(8000, 0, 65535),
  ORCHESTRATOR_PORT: integer(5000, 0, 65535),
  CATALOG_PORT: integer(5001, 0, 65535),
  PAYMENTS_PORT: integer(5002, 0, 65535),
  PURCHASES_PORT: integer(5003, 0, 65535),
  INVENTORY_PORT: integer(5004, 0, 65535),
});

const system = await startSystem({
  dataDir: env.DATA_DIR,
  ports: {
    gateway: env.GATEWAY_PORT,
    orchestrator: env.ORCHESTRATOR_PORT,
    catalog: env.CATALOG_PORT,
    payments: env.PAYMENTS_PORT,
    purchases: env.PURCHASES_PORT,
    inventory: env.INVENTORY_PORT,
  },
}).catch((err: unknown) => {
  process.stderr.write(`TP-SAGA failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});

let stopping = false;
const stop = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  process.stdout.write("TP-SAGA stopping…\n");
  await system.stop();
  process.stdout.write("TP-SAGA stopped.\n");
  process.exit(code);
};
system.onUnexpectedExit = (name, code, signal) => {
  if (stopping) return;
  process.stderr.write(`${name} exited unexpectedly (code ${code}, signal ${signal}); stopping everything.\n`);
  void stop(1);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

process.stdout.write(
  `\nTP-SAGA is ready: gateway on ${system.urls.gateway}\n` +
    `  try: curl -X POST ${system.urls.gateway}/saga\n` +
    `  gRPC: orchestrator ${system.urls.orchestrator}, catalog ${system.urls.catalog}, payments ${system.urls.payments}, ` +
    `purchases ${system.urls.purchases}, inventory ${system.urls.inventory}\n\n`,
);
