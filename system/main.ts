/**
 * `npm start`: the whole system on the embedded default (SQLite files under DATA_DIR, default
 * ./data), each process its own OS process with prefixed logs. A process that crashes is
 * started again with backoff (`system/supervisor.ts`); one that keeps crashing at start stops
 * everything with exit code 1. Ctrl-C or SIGTERM stops all six.
 */
import { integer, oneOf, readEnv, text } from "#platform/config.js";
import { PROCESSES } from "./processes.js";
import { beginStartUp, runUntilStopped } from "./launcher-lifecycle.js";
import { startSystem } from "./start-system.js";
import { superviseSystem } from "./supervisor.js";

const env = readEnv({
  DATA_DIR: text("./data"),
  GATEWAY_PORT: integer(8000, 0, 65535),
  ORCHESTRATOR_PORT: integer(5000, 0, 65535),
  CATALOG_PORT: integer(5001, 0, 65535),
  PAYMENTS_PORT: integer(5002, 0, 65535),
  PURCHASES_PORT: integer(5003, 0, 65535),
  INVENTORY_PORT: integer(5004, 0, 65535),
  // compiled: the processes run dist/ (brought up to date first); tsx: the TypeScript sources.
  RUNTIME: oneOf<"compiled" | "tsx">("compiled", ["compiled", "tsx"]),
});

const launcherLog = (line: string): void => void process.stdout.write(`[${"launcher".padEnd(12)}] ${line}\n`);

// A signal during start-up stops what has started (runUntilStopped takes over once it is up).
const startUp = beginStartUp("TP-SAGA");

const startedAt = Date.now();
const system = await startUp.started(
  startSystem({
    signal: startUp.signal,
    runtime: env.RUNTIME,
    onCompiled: (r) => {
      if (r.transpiled > 0 || r.removed > 0)
        launcherLog(`dist/ brought up to date: ${r.transpiled} of ${r.sources} files compiled, ${r.removed} removed, in ${r.ms} ms`);
    },
    dataDir: env.DATA_DIR,
    ports: {
      gateway: env.GATEWAY_PORT,
      orchestrator: env.ORCHESTRATOR_PORT,
      catalog: env.CATALOG_PORT,
      payments: env.PAYMENTS_PORT,
      purchases: env.PURCHASES_PORT,
      inventory: env.INVENTORY_PORT,
    },
  }),
);

runUntilStopped("TP-SAGA", system, (stop) => [
  superviseSystem(system, {
    log: launcherLog,
    onGiveUp: (name, reason) => {
      process.stderr.write(`TP-SAGA: ${reason}; stopping everything (see ${name}'s lines above for why).\n`);
      stop(1);
    },
  }),
]);

const pids = PROCESSES.map((p) => `${p.name} ${system.pid(p.name)}`).join(", ");
const metrics = PROCESSES.flatMap((p) => (system.metricsUrls[p.name] ? [`${p.name} ${system.metricsUrls[p.name]}`] : [])).join(", ");
process.stdout.write(
  `\nTP-SAGA is ready: gateway on ${system.urls.gateway} (${Date.now() - startedAt} ms)\n` +
    `  try: curl -X POST ${system.urls.gateway}/saga\n` +
    `  gRPC: orchestrator ${system.urls.orchestrator}, catalog ${system.urls.catalog}, payments ${system.urls.payments}, ` +
    `purchases ${system.urls.purchases}, inventory ${system.urls.inventory}\n` +
    (metrics ? `  metrics: ${metrics}\n` : "") +
    `  pids: ${pids} (a crashed process is restarted)\n\n`,
);
