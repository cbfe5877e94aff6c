import { join } from "node:path";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { integer, oneOf, postgresUrl, readEnv, text } from "#platform/config.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { peerUrls } from "#platform/peer-addresses.js";
import { serve, startGrpcServer } from "#platform/grpc-server.js";
import { readGrpcTls } from "#platform/grpc-tls.js";
import { metricsEnabled, metricsRegistry } from "#platform/metrics-registry.js";
import { runProcess } from "#platform/run-service.js";
import { describeError, isRetryable } from "#platform/rpc-errors.js";
import { describePostgresTarget, postgresTarget } from "#platform/postgres.js";
import { DURABILITIES, type Durability } from "#platform/sqlite.js";
import { PostgresSagaStore } from "./engine/postgres-saga-store.js";
import { defaultReplicaId } from "./engine/replica-id.js";
import { watchStoreHealth } from "#platform/store-health-watch.js";
import { createRunner } from "./engine/runner.js";
import type { SagaStore } from "./engine/saga-store.js";
import { SqliteSagaStore } from "./engine/sql-saga-store.js";
import { orderSaga } from "./order-saga/order-saga.js";
import { orchestratorHandlers } from "./handlers.js";
import { createSagaTracing } from "./saga-tracing.js";
import { tracingSwitch } from "#platform/tracing/tracing-switch.js";
import { createPrometheusSagaMetrics } from "./prometheus-saga-metrics.js";

const readConfig = () => {
  const env = readEnv({
    HOST: text("127.0.0.1"),
    PORT: integer(5000, 0, 65535),
    DATA_DIR: text("./data"),
    DATABASE_URL: postgresUrl(),
    DURABILITY: oneOf<Durability>("process", DURABILITIES),
    LOG_LEVEL: oneOf("info", ["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
    CATALOG_URL: peerUrls("http://127.0.0.1:5001"),
    PAYMENTS_URL: peerUrls("http://127.0.0.1:5002"),
    PURCHASES_URL: peerUrls("http://127.0.0.1:5003"),
    INVENTORY_URL: peerUrls("http://127.0.0.1:5004"),
    STEP_TIMEOUT_MS: integer(2_000, 1, 600_000),
    STEP_MAX_ATTEMPTS: integer(8, 1, 1_000),
    COMPENSATION_MAX_ATTEMPTS: integer(20, 1, 1_000),
    SAGA_DEADLINE_MS: integer(60_000, 1, 86_400_000),
    MAX_SAGAS_IN_FLIGHT: integer(10_000, 1, 1_000_000),
    // Replicas on one PostgreSQL log (docs/postgres.md, "Replicas"); ignored on SQLite.
    REPLICA_ID: text(""),
    LEASE_MS: integer(1_500, 100, 600_000),
    LEASE_RENEW_MS: integer(0, 0, 600_000),
    CLAIM_INTERVAL_MS: integer(250, 10, 600_000),
    STORE_PROBE_MS: integer(500, 50, 600_000),
  });
  return { ...env, logLevel: env.LOG_LEVEL };
};

// The same life as every service (platform/run-service.ts); the log is resumed before the
// "listening" line, so a launcher that waits for it waits for the resumption too.
await runProcess("orchestrator", readConfig, async ({ config: env, log }) => {
  const tls = readGrpcTls();
  // waitForReady: while a service restarts, a call waits for it (within its deadline) instead
  // of failing at once and using up the step's attempts in a second.
  const clients = {
    catalog: createServiceClient(CatalogService, env.CATALOG_URL, { waitForReady: true, exchange: true, tls }),
    payments: createServiceClient(PaymentsService, env.PAYMENTS_URL, { waitForReady: true, exchange: true, tls }),
    purchases: createServiceClient(PurchasesService, env.PURCHASES_URL, { waitForReady: true, exchange: true, tls }),
    inventory: createServiceClient(InventoryService, env.INVENTORY_URL, { waitForReady: true, exchange: true, tls }),
  };
  // The saga log: on PostgreSQL when DATABASE_URL is given (connects with retries, migrates the
  // schema, refuses a newer one: a failure names host and database, never the password, and
  // stops the process), otherwise the embedded SQLite file.
  const postgres = env.DATABASE_URL === "" ? undefined : describePostgresTarget(postgresTarget(env.DATABASE_URL));
  const store: SagaStore = postgres
    ? await PostgresSagaStore.open({
        connectionString: env.DATABASE_URL,
        durability: env.DURABILITY,
        onRetry: ({ attempt, delayMs, error }) =>
          log.warn({ attempt, delayMs, err: error.message }, `PostgreSQL at ${postgres} not reachable yet; retrying`),
        onIdleError: (error) => log.warn({ err: error.message }, "PostgreSQL dropped an idle connection"),
        onWriteRetry: ({ attempt, delayMs, error }) =>
          log.warn({ attempt, delayMs, err: error.message }, "saga log write lost its connection; sending it again"),
      })
    : new SqliteSagaStore(env.DATA_DIR === ":memory:" ? ":memory:" : join(env.DATA_DIR, "orchestrator.db"), {
        durability: env.DURABILITY,
      });
  // Spans per saga and per step call, only when the process traces (docs/operations.md#traces).
  const sagaTracing = tracingSwitch.on ? createSagaTracing() : undefined;
  const untracedRunner = createRunner({
    store,
    definitions: [
      orderSaga(clients, {
        retry: { timeoutMs: env.STEP_TIMEOUT_MS, maxAttempts: env.STEP_MAX_ATTEMPTS },
        compensationRetry: { timeoutMs: env.STEP_TIMEOUT_MS, maxAttempts: env.COMPENSATION_MAX_ATTEMPTS },
        deadlineMs: env.SAGA_DEADLINE_MS,
      }),
    ].map((definition) => sagaTracing?.definition(definition) ?? definition),
    isRetryable,
    describeError,
    maxInFlight: env.MAX_SAGAS_IN_FLIGHT,
    log,
    metrics: metricsEnabled() ? createPrometheusSagaMetrics(metricsRegistry, () => runner.inFlight()) : undefined,
    ...(store instanceof PostgresSagaStore && {
      ownership: replicaOwnership(store, env),
      // GetSaga reads the log; waits and WatchSagas hear of the sagas other replicas drive through LISTEN/NOTIFY.
      changeFeed: await store.openChangeFeed((error) => log.warn({ err: error.message }, "saga log change feed lost its connection; reconnecting")),
    }),
  });
  const runner = sagaTracing?.runner(untracedRunner) ?? untracedRunner;

  // One JSON line per finished saga, carrying its id (off below info, so the hot path pays nothing).
  if (log.isLevelEnabled("info")) {
    const outcomes = new Set(["saga-completed", "saga-compensated", "saga-needs-attention", "saga-resolved"]);
    runner.subscribe(undefined, (e) => {
      if (outcomes.has(e.kind)) log.info({ sagaId: e.sagaId, status: e.status, step: e.step, error: e.error }, e.kind);
    });
  }

  const server = await startGrpcServer({
    services: [serve(OrchestratorService, orchestratorHandlers(runner))],
    host: env.HOST,
    port: env.PORT,
    log,
    tls,
  });
  // Health says NOT_SERVING while the saga log does not answer (sagas wait for it meanwhile).
  const probe = store instanceof PostgresSagaStore ? watchStoreHealth(store, env.STORE_PROBE_MS, server, log, "saga log") : undefined;
  const startedAt = Date.now();
  const resumed = await runner.resumePending();
  return {
    url: server.url,
    startFields: {
      resumed,
      resumeMs: Date.now() - startedAt,
      durability: env.DURABILITY,
      sagaLog: postgres ? `PostgreSQL at ${postgres}` : "SQLite",
      ...(runner.replicaId !== undefined && { replica: runner.replicaId, leaseMs: env.LEASE_MS }),
    },
    async close() {
      probe?.stop();
      await server.close();
      await runner.close();
      await store.close();
      for (const c of Object.values(clients)) c.close();
    },
  };
});

/** Ownership among replicas sharing the PostgreSQL log: who this replica is, and its lease. */
function replicaOwnership(store: PostgresSagaStore, env: ReturnType<typeof readConfig>) {
  return {
    port: store,
    replicaId: env.REPLICA_ID || defaultReplicaId(),
    leaseMs: env.LEASE_MS,
    ...(env.LEASE_RENEW_MS > 0 && { renewEveryMs: env.LEASE_RENEW_MS }),
    claimEveryMs: env.CLAIM_INTERVAL_MS,
  };
}
