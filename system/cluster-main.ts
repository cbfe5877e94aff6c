/**
 * `npm run start:cluster`: TP-SAGA scaled out on this machine's PostgreSQL. Creates the
 * databases it needs (one per service, one for the saga log), then starts three orchestrator
 * replicas and two replicas of each service behind the gateway, each its own OS process with
 * prefixed logs. A replica that crashes is started again (`system/supervisor.ts`); one that keeps
 * crashing at start stops everything with exit code 1. Ctrl-C or SIGTERM stops all.
 */
import { integer, oneOf, postgresUrl, readEnv, text } from "#platform/config.js";
import { describePostgresTarget, postgresTarget } from "#platform/postgres.js";
import { clusterDatabaseUrls, ensureClusterDatabases } from "./cluster-databases.js";
import { startCluster } from "./start-cluster.js";
import { beginStartUp, runUntilStopped } from "./launcher-lifecycle.js";
import { superviseSystem } from "./supervisor.js";

const env = readEnv({
  CLUSTER_DATABASE_URL: postgresUrl(),
  CLUSTER_DATABASE_PREFIX: text("tp_saga"),
  ORCHESTRATORS: integer(3, 1, 9),
  SERVICE_REPLICAS: integer(2, 1, 9),
  GATEWAY_PORT: integer(8000, 0, 65535),
  CLUSTER_BASE_PORT: integer(5000, 1, 65000),
  DATA_DIR: text("./data/cluster"),
  RUNTIME: oneOf<"compiled" | "tsx">("compiled", ["compiled", "tsx"]),
});
const adminUrl = env.CLUSTER_DATABASE_URL === "" ? "postgresql://postgres@127.0.0.1:5432/postgres" : env.CLUSTER_DATABASE_URL;

const launcherLog = (line: string): void => void process.stdout.write(`[${"launcher".padEnd(14)}] ${line}\n`);

// A signal during start-up stops what has started (runUntilStopped takes over once it is up).
const startUp = beginStartUp("TP-SAGA cluster");

const startedAt = Date.now();
const databases = clusterDatabaseUrls(adminUrl, env.CLUSTER_DATABASE_PREFIX);
try {
  const created = await ensureClusterDatabases(adminUrl, databases);
  launcherLog(
    `PostgreSQL at ${describePostgresTarget(postgresTarget(adminUrl))}: databases ${Object.values(databases)
      .map((u) => new URL(u).pathname.slice(1))
      .join(", ")}${created.length > 0 ? ` (created ${created.join(", ")})` : ""}`,
  );
} catch (err) {
  process.stderr.write(`TP-SAGA cluster failed to start: ${(err as Error).message}\n`);
  process.exit(1);
}

const cluster = await startUp.started(
  startCluster({
    databases,
    dataDir: env.DATA_DIR,
    gatewayPort: env.GATEWAY_PORT,
    basePort: env.CLUSTER_BASE_PORT,
    orchestrators: env.ORCHESTRATORS,
    serviceReplicas: env.SERVICE_REPLICAS,
    runtime: env.RUNTIME,
    signal: startUp.signal,
    onCompiled: (r) => {
      if (r.transpiled > 0 || r.removed > 0)
        launcherLog(`dist/ brought up to date: ${r.transpiled} of ${r.sources} files compiled, ${r.removed} removed, in ${r.ms} ms`);
    },
  }),
);

runUntilStopped("TP-SAGA cluster", cluster, (stop) =>
  cluster.replicas.map((replica) =>
    superviseSystem(replica.system, {
      log: (line) => launcherLog(`${replica.label}: ${line}`),
      onGiveUp: (_name, reason) => {
        process.stderr.write(`TP-SAGA cluster: ${replica.label}: ${reason}; stopping everything (see its lines above for why).\n`);
        stop(1);
      },
    }),
  ),
);

const pids = cluster.replicas.map((r) => `${r.label} ${r.system.pid(r.process)}`).join(", ");
process.stdout.write(
  `\nTP-SAGA cluster is ready: gateway on ${cluster.gatewayUrl} (${Date.now() - startedAt} ms)\n` +
    `  try: curl -X POST ${cluster.gatewayUrl}/saga\n` +
    `  orchestrators ${cluster.urls.orchestrator}\n` +
    `  catalog ${cluster.urls.catalog}; payments ${cluster.urls.payments}; purchases ${cluster.urls.purchases}; inventory ${cluster.urls.inventory}\n` +
    `  pids: ${pids} (a crashed replica is restarted)\n\n`,
);
