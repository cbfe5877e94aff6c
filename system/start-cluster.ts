/**
 * Starts TP-SAGA scaled out: several orchestrator replicas on one saga log, several replicas
 * of each service on its database, one gateway in front. Each replica is a one-process system
 * of `startSystem` (same spawning, health checks, compiled runtime and stopping as `npm start`),
 * and every peer is given the comma-separated URLs of all the replicas it calls, which its
 * grpc-js client balances over.
 */
import { buildCompiled, canCompile, type BuildReport } from "./compiled-build.js";
import type { ClusterDatabases } from "./cluster-databases.js";
import { PROCESSES, SERVICE_NAMES, type ProcessName } from "./processes.js";
import { startSystem, type RunningSystem } from "./start-system.js";

/** How many processes of each kind. */
export interface ClusterShape {
  /** Orchestrator replicas on the shared saga log (default 3). */
  readonly orchestrators?: number;
  /** Replicas of each service on its database (default 2). */
  readonly serviceReplicas?: number;
}

export interface ClusterOptions extends ClusterShape {
  /** Each owner's PostgreSQL database (`system/cluster-databases.ts`), passed as its `DATABASE_URL`. */
  readonly databases: ClusterDatabases;
  /** Directory for whatever a process keeps in files (SQLite, for a process that does not take `DATABASE_URL`). */
  readonly dataDir: string;
  /** The gateway's port (0: any free one). */
  readonly gatewayPort: number;
  /**
   * Port of replica i (from 0) of a gRPC process: `basePort + (its default port − 5000) + 10 × i`
   * (with 5000: orchestrators 5000, 5010, 5020; catalog 5001, 5011; payments 5002, 5012; …).
   * Absent: any free port.
   */
  readonly basePort?: number;
  /** Extra environment for every process, and per replica (by its label, e.g. `orchestrator-2`). */
  readonly env?: Record<string, string>;
  readonly envOf?: (replica: ReplicaLabel) => Record<string, string> | undefined;
  /** Where each output line goes; default: stdout, prefixed with the replica's label. */
  readonly onLine?: (replica: ReplicaLabel, line: string) => void;
  readonly runtime?: "compiled" | "tsx";
  readonly onCompiled?: (report: BuildReport) => void;
  readonly readyTimeoutMs?: number;
  /** Aborting it during start-up stops every process started so far. */
  readonly signal?: AbortSignal;
}

/** `orchestrator-1`, `payments-2`, `gateway-1`: a process kind and its replica number (from 1). */
export type ReplicaLabel = `${ProcessName}-${number}`;

/** One replica: a one-process system. */
export interface ClusterReplica {
  readonly label: ReplicaLabel;
  readonly process: ProcessName;
  readonly system: RunningSystem;
  readonly url: string;
}

export interface RunningCluster {
  /** Every replica, services first, then orchestrators, then the gateway. */
  readonly replicas: readonly ClusterReplica[];
  /** The gateway's URL. */
  readonly gatewayUrl: string;
  /** The comma-separated URLs of each kind's replicas, as the peers are given them. */
  readonly urls: Readonly<Record<ProcessName, string>>;
  replica(label: ReplicaLabel): ClusterReplica;
  /** Stops every process: gateway first, then orchestrators, then services. */
  stop(): Promise<void>;
}

/**
 * Starts the services' replicas, then the orchestrators (given every service replica's URL),
 * then the gateway (given every orchestrator's URL), and resolves once all are healthy.
 * @throws when a process exits or is not healthy in time (everything started is stopped).
 */
export async function startCluster(options: ClusterOptions): Promise<RunningCluster> {
  const orchestrators = options.orchestrators ?? 3;
  const serviceReplicas = options.serviceReplicas ?? 2;
  for (const [name, n] of [
    ["orchestrators", orchestrators],
    ["serviceReplicas", serviceReplicas],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || n > 9) throw new Error(`${name} must be an integer from 1 to 9, not ${n}`);
  }
  // dist/ is brought up to date once here, not by each replica's start.
  const compiled = (options.runtime ?? "compiled") === "compiled" && canCompile();
  if (compiled) {
    const report = await buildCompiled();
    options.onCompiled?.(report);
  }
  const replicas: ClusterReplica[] = [];
  const urls = {} as Record<ProcessName, string>;
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    for (const r of [...replicas].reverse()) await r.system.stop();
  };
  const abort = (): void => void stop();
  options.signal?.addEventListener("abort", abort, { once: true });

  const startReplica = async (process: ProcessName, index: number, env: Record<string, string>): Promise<ClusterReplica> => {
    if (stopping) throw new Error(`${process}-${index + 1} not started: the cluster is stopping`);
    const label: ReplicaLabel = `${process}-${index + 1}`;
    const spec = PROCESSES.find((p) => p.name === process)!;
    const port =
      process === "gateway" ? options.gatewayPort : options.basePort === undefined ? 0 : options.basePort + (spec.defaultPort - 5000) + 10 * index;
    const system = await startSystem({
      only: [process],
      dataDir: options.dataDir,
      ports: { [process]: port },
      env: { ...options.env, ...env },
      // REPLICA_ID names the replica in the saga log's ownership columns and in its logs.
      envOf: { [process]: { REPLICA_ID: label, ...options.envOf?.(label) } },
      onLine: (_name, line) =>
        options.onLine ? options.onLine(label, line) : void globalThis.process.stdout.write(`[${label.padEnd(14)}] ${line}\n`),
      runtime: compiled ? "compiled" : "tsx",
      compiledUpToDate: true,
      readyTimeoutMs: options.readyTimeoutMs,
      signal: options.signal,
    });
    if (stopping) {
      await system.stop();
      throw new Error(`${label} stopped: the cluster is stopping`);
    }
    const replica = { label, process, system, url: system.urls[process] };
    replicas.push(replica);
    return replica;
  };

  try {
    // Stage by stage, each stage's replicas side by side: a peer's URLs are known once it listens.
    const stage = async (process: ProcessName, count: number, env: Record<string, string>): Promise<void> => {
      const started = await Promise.allSettled(Array.from({ length: count }, (_, i) => startReplica(process, i, env)));
      const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed) throw failed.reason;
      urls[process] = replicas
        .filter((r) => r.process === process)
        .sort((a, b) => a.label.localeCompare(b.label))
        .map((r) => r.url)
        .join(",");
    };
    // Replicas of one store start together: its migrations run under an advisory lock, once.
    const services = await Promise.allSettled(SERVICE_NAMES.map((s) => stage(s, serviceReplicas, { DATABASE_URL: options.databases[s] })));
    const failed = services.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failed) throw failed.reason;
    const serviceUrls = {
      CATALOG_URL: urls.catalog,
      PAYMENTS_URL: urls.payments,
      PURCHASES_URL: urls.purchases,
      INVENTORY_URL: urls.inventory,
    };
    await stage("orchestrator", orchestrators, { ...serviceUrls, DATABASE_URL: options.databases.orchestrator });
    await stage("gateway", 1, { ORCHESTRATOR_URL: urls.orchestrator });
  } catch (err) {
    await stop();
    throw err;
  } finally {
    options.signal?.removeEventListener("abort", abort);
  }

  return {
    replicas,
    gatewayUrl: urls.gateway,
    urls,
    replica(label) {
      const r = replicas.find((x) => x.label === label);
      if (!r) throw new Error(`no replica ${label} in this cluster (${replicas.map((x) => x.label).join(", ")})`);
      return r;
    },
    stop,
  };
}
