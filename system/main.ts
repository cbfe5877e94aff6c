/**
 * `npm start`: the whole system on the embedded default (SQLite files under DATA_DIR, default
 * ./data), each process its own OS process with prefixed logs. A process that crashes is
 * started again with backoff (`system/supervisor.ts`); one that keeps crashing at start stops
 * everything with exit code 1. Ctrl-C or SIGTERM stops all six.
 */
import { integer, oneOf, readEnv, text } from "#platform/config.js";
import { PROCESSES } from "./processes.js";
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

// A signal during start-up stops what has started (the handlers below take over once it is up).
const startAbort = new AbortController();
const abortStart = (): void => startAbort.abort();
process.once("SIGINT", abortStart);
process.once("SIGTERM", abortStart);

const startedAt = Date.now();
const system = await startSystem({
  signal: startAbort.signal,
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
}).catch((err: unknown) => {
  if (startAbort.signal.aborted) {
    process.stdout.write("TP-SAGA stopped during start-up.\n");
    process.exit(0);
  }
  process.stderr.write(`TP-SAGA failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
process.off("SIGINT", abortStart);
process.off("SIGTERM", abortStart);
if (startAbort.signal.aborted) {
  // The signal came as the last health check passed.
  await system.stop();
  process.stdout.write("TP-SAGA stopped during start-up.\n");
  process.exit(0);
}

let stopping = false;
const stop = async (code: number): Promise<void> => {
  if (stopping) return;
  stopping = true;
  supervisor.stop();
  process.stdout.write("TP-SAGA stopping…\n");
  await system.stop();
  process.stdout.write("TP-SAGA stopped.\n");
  process.exit(code);
};
const supervisor = superviseSystem(system, {
  log: launcherLog,
  onGiveUp: (name, reason) => {
    process.stderr.write(`TP-SAGA: ${reason}; stopping everything (see ${name}'s lines above for why).\n`);
    void stop(1);
  },
});
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

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
