import type pg from "pg";
import { createDemoMode, type DemoMode } from "./demo-mode.js";
import { startGrpcServer, type ServiceBinding } from "./grpc-server.js";
import { readGrpcTls } from "./grpc-tls.js";
import { createLogger, logListening, type Logger } from "./logger.js";
import { readServiceConfig, type ServiceConfig } from "./service-config.js";
import type { MetricsServer } from "./metrics-server.js";
import { prepareProcessMetrics, serveProcessMetrics } from "./process-metrics.js";
import { onShutdown } from "./shutdown.js";
import { openDatabase, type SqliteDatabase } from "./sqlite.js";
import { describePostgresTarget, openPostgresPool, pingPool, postgresTarget } from "./postgres.js";
import { watchStoreHealth } from "./store-health-watch.js";
import { startTracing } from "./tracing/tracing-sdk.js";

/** What any process's `start` gets: its configuration and its logger. */
export interface ProcessParts<C> {
  readonly config: C;
  readonly log: Logger;
}

/** What any process's `start` returns once it serves: where, what else to log at start, and how to stop. */
export interface RunningProcess {
  readonly url: string;
  readonly startFields?: Record<string, unknown>;
  /** Stops serving (draining what is in flight) and closes what the process opened. */
  close(): Promise<void> | void;
}

/**
 * The life of every process, the same for the four services, the orchestrator and the
 * gateway: configuration (a bad variable stops it here) → tracing, when the `OTEL_*`
 * variables turn it on (platform/tracing/tracing-sdk.ts) → logger → `start` (compose and
 * listen) → its /metrics server (METRICS_PORT; platform/process-metrics.ts) → one "listening"
 * line with the URL and the metrics URL (launchers read it) → on SIGTERM or SIGINT, `close`,
 * bounded, then the spans still buffered are exported. A `start` that throws stops the process (exit 1) with its message logged.
 */
export async function runProcess<C extends { readonly logLevel: string }>(
  name: string,
  readConfig: () => C,
  start: (parts: ProcessParts<C>) => Promise<RunningProcess>,
): Promise<void> {
  const config = readConfig();
  // Before the logger, which adds trace ids to its lines only when the process traces.
  const tracing = await startTracing(name);
  const metrics = prepareProcessMetrics(name);
  const log = createLogger(name, config.logLevel);
  let running: RunningProcess;
  let metricsServer: MetricsServer | undefined;
  try {
    running = await start({ config, log });
    metricsServer = await serveProcessMetrics(metrics);
  } catch (err) {
    // What cannot start (a database of a newer schema, a failed migration, a port in use)
    // stops the process with one log line naming why, before anything listens.
    log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    process.exit(1);
  }
  logListening(log, { url: running.url, ...(metricsServer ? { metrics: metricsServer.url } : {}), ...running.startFields });
  onShutdown(log, async () => {
    await running.close();
    await tracing.shutdown();
    await metricsServer?.close();
  });
}

/**
 * Where a service keeps its state: its SQLite file, or its own PostgreSQL database when the
 * process has `DATABASE_URL` (the pool is open, connected with retries, `DURABILITY` applied).
 */
export type ServiceDatabase =
  { readonly kind: "sqlite"; readonly db: SqliteDatabase } | { readonly kind: "postgres"; readonly pool: pg.Pool; readonly target: string };

/** What a service's composition root gets: its configuration, logger, database and demo mode. */
export interface ServiceParts {
  readonly config: ServiceConfig;
  readonly log: Logger;
  readonly database: ServiceDatabase;
  readonly demo: DemoMode;
}

/** What a service's composition root returns: its handlers, how to close its store, and what to log at start. */
export interface ComposedService {
  readonly binding: ServiceBinding;
  close(): void | Promise<void>;
  readonly startFields?: Record<string, unknown>;
}

/**
 * A service process ({@link runProcess}): config → logger → database (SQLite file, or
 * PostgreSQL with retries) → `compose` (store and its schema, domain, handlers) → gRPC server →
 * "listening"; on SIGTERM or SIGINT the server drains (bounded), then the store commits what is
 * queued and closes.
 */
export async function runService(
  name: string,
  defaultPort: number,
  compose: (parts: ServiceParts) => ComposedService | Promise<ComposedService>,
): Promise<void> {
  await runProcess(
    name,
    () => readServiceConfig(name, defaultPort),
    async ({ config, log }) => {
      const tls = readGrpcTls();
      const database = await openServiceDatabase(name, config, log);
      let service: ComposedService;
      try {
        service = await compose({ config, log, database, demo: createDemoMode(config.demo) });
      } catch (err) {
        await (database.kind === "sqlite" ? database.db.close() : database.pool.end());
        throw err;
      }
      const server = await startGrpcServer({ services: [service.binding], host: config.host, port: config.port, log, tls });
      const where = database.kind === "sqlite" ? config.databasePath : `PostgreSQL ${database.target}`;
      // On PostgreSQL, health says NOT_SERVING while the database does not answer (a SQLite file always does).
      const probe =
        database.kind === "postgres"
          ? watchStoreHealth({ ping: (timeoutMs) => pingPool(database.pool, timeoutMs) }, config.storeProbeMs, server, log, `${name} database`)
          : undefined;
      return {
        url: server.url,
        startFields: { database: where, durability: config.durability, ...service.startFields },
        async close() {
          probe?.stop();
          await server.close();
          await service.close();
        },
      };
    },
  );
}

async function openServiceDatabase(name: string, config: ServiceConfig, log: Logger): Promise<ServiceDatabase> {
  if (config.databaseUrl === "") return { kind: "sqlite", db: openDatabase(config.databasePath, config.durability) };
  const target = describePostgresTarget(postgresTarget(config.databaseUrl));
  const pool = await openPostgresPool({
    connectionString: config.databaseUrl,
    durability: config.durability,
    applicationName: `tp-saga-${name}`,
    onRetry: ({ attempt, delayMs, error }) =>
      log.warn({ attempt, delayMs, err: error.message }, `PostgreSQL at ${target} not reachable yet; retrying`),
    onIdleError: (error) => log.warn({ err: error.message }, "PostgreSQL dropped an idle connection"),
  });
  return { kind: "postgres", pool, target };
}
