/**
 * A scaled-out TP-SAGA for process-level tests: real processes (`system/start-cluster.ts`) on
 * port 0, every database a throwaway one of its own on the test PostgreSQL server, and what the
 * tests read from outside: the saga log's rows, each replica's output, and the invariants.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createTestDatabase, type TestDatabase } from "../platform/postgres-test-database.js";
import { CLUSTER_DATABASE_OWNERS, clusterDatabaseUrls, ensureClusterDatabases, type ClusterDatabases } from "../system/cluster-databases.js";
import { startCluster, type ReplicaLabel, type RunningCluster } from "../system/start-cluster.js";
import { checkInvariants, takeSnapshot, type InvariantReport, type Snapshot } from "../system/invariants.js";

/** Saga statuses still being driven (the saga log's text values). */
export const UNFINISHED = ["RUNNING", "CONFIRMING", "COMPENSATING"] as const;
/** Event kinds that end a saga. */
const ENDINGS = ["saga-completed", "saga-compensated", "saga-needs-attention"] as const;

export interface TestCluster {
  readonly cluster: RunningCluster;
  /** The saga log, read directly (what the test observes of ownership). */
  readonly log: pg.Pool;
  /** The money and stock before any saga ran. */
  readonly initial: Snapshot;
  /** The output lines of one replica so far. */
  lines(label: ReplicaLabel): readonly string[];
  /** Stops every process, drops every database, removes the data directory (idempotent). */
  close(): Promise<void>;
}

export interface TestClusterOptions {
  readonly orchestrators: number;
  readonly serviceReplicas: number;
  /** Environment of every process (on top of quiet logs). */
  readonly env?: Record<string, string>;
  readonly envOf?: (label: ReplicaLabel) => Record<string, string> | undefined;
  /**
   * A server of the test's own (`platform/postgres-test-server.ts`): the databases are created there and
   * go with it. Absent: throwaway databases on the test server, dropped by `close`.
   */
  readonly adminUrl?: string;
}

/** Starts a cluster on databases of its own (created here, dropped by `close`). */
export async function startTestCluster(options: TestClusterOptions): Promise<TestCluster> {
  const created: TestDatabase[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "tp-saga-cluster-"));
  const output = new Map<string, string[]>();
  let cluster: RunningCluster | undefined;
  let log: pg.Pool | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await cluster?.stop();
    await log?.end();
    for (const db of created) await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    let databases: ClusterDatabases;
    if (options.adminUrl !== undefined) {
      databases = clusterDatabaseUrls(options.adminUrl, "cluster");
      await ensureClusterDatabases(options.adminUrl, databases);
    } else {
      for (const owner of CLUSTER_DATABASE_OWNERS) created.push(await createTestDatabase(`cluster_${owner}`));
      databases = Object.fromEntries(CLUSTER_DATABASE_OWNERS.map((owner, i) => [owner, created[i]!.url])) as ClusterDatabases;
    }
    cluster = await startCluster({
      databases,
      dataDir,
      gatewayPort: 0,
      orchestrators: options.orchestrators,
      serviceReplicas: options.serviceReplicas,
      env: { LOG_LEVEL: "warn", ...options.env },
      envOf: options.envOf,
      readyTimeoutMs: 120_000,
      onLine: (label, line) => {
        const lines = output.get(label) ?? [];
        if (lines.length < 20_000) lines.push(line);
        output.set(label, lines);
      },
    });
    log = new pg.Pool({ connectionString: databases.orchestrator, max: 2 });
    log.on("error", () => {}); // an idle connection cut by a server restart: the pool drops it

    const initial = await takeSnapshot({ payments: cluster.urls.payments, inventory: cluster.urls.inventory });
    return { cluster, log, initial, lines: (label) => output.get(label) ?? [], close };
  } catch (err) {
    await close();
    const tails = [...output].map(([label, lines]) => `${label}: ${lines.slice(-5).join("\n  ")}`).join("\n");
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err });
  }
}

/**
 * Starts `count` sagas through the gateway, `concurrency` at a time, each with its own
 * Idempotency-Key; with `failing`, every tenth orders a webcam (no stock: compensated at
 * inventory). A 503 or a lost connection is retried with the same key (bounded), so a saga is
 * started once.
 * @returns the saga ids.
 */
export async function startSagas(gatewayUrl: string, count: number, prefix: string, failing = true, concurrency = 50): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  const one = async (i: number): Promise<void> => {
    const product = failing && i % 10 === 9 ? "webcam" : "mouse";
    const body = JSON.stringify({ customerId: "customer-1", items: [{ productId: product, quantity: 1 }] });
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(`${gatewayUrl}/saga`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": `${prefix}-${i}` },
          body,
          signal: AbortSignal.timeout(60_000),
        });
        const answer = (await res.json()) as { sagaId?: string };
        if (answer.sagaId !== undefined && [200, 202, 409].includes(res.status)) {
          ids.push(answer.sagaId);
          return;
        }
        if (attempt >= 20 || res.status < 500) throw new Error(`POST /saga ${prefix}-${i}: ${res.status} ${JSON.stringify(answer)}`);
      } catch (err) {
        if (attempt >= 20) throw err;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await one(next++);
    }),
  );
  return ids;
}

/** Unfinished sagas per owner, from the log. */
export async function unfinishedByOwner(log: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await log.query<{ owner: string | null; n: string }>(
    "SELECT owner, count(*) AS n FROM saga WHERE status = ANY($1::text[]) GROUP BY owner",
    [UNFINISHED],
  );
  return new Map(rows.map((r) => [r.owner ?? "(none)", Number(r.n)]));
}

/**
 * Polls `check` every 25 ms until it is true or `timeoutMs` passes; returns whether it became
 * true. A check that throws (the log's server restarting) counts as false until the last one.
 */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

/** Waits (bounded) until no saga is unfinished in the log; returns how many still are. */
export async function waitUntilAllEnded(log: pg.Pool, timeoutMs: number): Promise<number> {
  const left = async (): Promise<number> => [...(await unfinishedByOwner(log)).values()].reduce((a, b) => a + b, 0);
  await waitFor(async () => (await left()) === 0, timeoutMs);
  return left();
}

/**
 * What the saga log shows that a stale owner's write would break: every saga has exactly one
 * ending event and nothing after it, and no step's success, confirmation or compensation, nor
 * the decision, is logged twice. Returns one line per fault.
 */
export async function logFaults(log: pg.Pool): Promise<string[]> {
  const faults: string[] = [];
  const endings = await log.query<{ saga_id: string; endings: string; last: number; ending_at: number | null }>(
    `SELECT saga_id, count(*) FILTER (WHERE kind = ANY($1::text[])) AS endings, max(sequence) AS last,
            max(sequence) FILTER (WHERE kind = ANY($1::text[])) AS ending_at
     FROM saga_event GROUP BY saga_id`,
    [ENDINGS],
  );
  for (const r of endings.rows) {
    if (Number(r.endings) !== 1) faults.push(`saga ${r.saga_id}: ${r.endings} ending events`);
    else if (r.ending_at !== r.last) faults.push(`saga ${r.saga_id}: events after its ending (${r.ending_at} < ${r.last})`);
  }
  const twice = await log.query<{ saga_id: string; kind: string; step: string | null; n: string }>(
    `SELECT saga_id, kind, step, count(*) AS n FROM saga_event
     WHERE kind IN ('step-succeeded', 'saga-decided', 'confirmation-succeeded', 'compensation-succeeded', 'saga-created')
     GROUP BY saga_id, kind, step HAVING count(*) > 1`,
  );
  for (const r of twice.rows) faults.push(`saga ${r.saga_id}: ${r.kind}${r.step ? ` of ${r.step}` : ""} logged ${r.n} times`);
  return faults;
}

/** The invariants from every service's state (`system/invariants.ts`). */
export function invariants(t: TestCluster): Promise<InvariantReport> {
  const { urls } = t.cluster;
  return checkInvariants(
    { orchestrator: urls.orchestrator, payments: urls.payments, purchases: urls.purchases, inventory: urls.inventory },
    t.initial,
  );
}
