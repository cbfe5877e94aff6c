/**
 * The chaos run ("Prove it under faults"): the six real processes on a fresh data directory,
 * a fault proxy in front of each of the four services, demo failures on, and seeded traffic
 * through the gateway — while processes are SIGKILLed and restarted at random moments and the
 * proxies drop connections, delay replies past the deadline and lose replies the services
 * applied, or deliver requests after their caller gave up on them. Then faults stop, every
 * process is up, the system quiesces, and the invariants (`system/invariants.ts`) and the
 * client's acknowledgements are checked. Only 127.0.0.1 is used; every
 * loop is bounded in count and in time.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import type { Durability } from "#platform/sqlite.js";
import { startSystem, type RunningSystem } from "../system/start-system.js";
import { clusterDatabaseUrls, dropClusterDatabases, ensureClusterDatabases, type ClusterDatabases } from "../system/cluster-databases.js";
import { checkInvariants, takeSnapshot, UNFINISHED_SAGA_STATUSES } from "../system/invariants.js";
import { SERVICE_NAMES, type ProcessName } from "../system/processes.js";
import { FAULT_KINDS, startFaultProxy, type FaultKind, type FaultProxy } from "./fault-proxy.js";
import { createPrng } from "./prng.js";
import { planOrders, type Intent } from "./orders.js";
import { runClientSaga, type ClientRecord } from "./client.js";
import { checkClientRecords, unacknowledgedByFate, type SagaView, type UnacknowledgedSaga } from "./verify.js";

export type ServiceName = (typeof SERVICE_NAMES)[number];
/**
 * What can be killed: a process of the six, or an extra orchestrator replica
 * (`orchestrator-2`, `orchestrator-3`, … with `orchestrators` > 1; the first is `orchestrator`).
 */
export type ChaosTarget = ProcessName | `orchestrator-${number}`;

export interface ChaosOptions {
  /** Sagas to send through the gateway. */
  readonly sagas: number;
  /** Clients sending at once. */
  readonly concurrency: number;
  /** Seed of every random choice (orders, fault windows, kill moments, proxies). */
  readonly seed: number;
  /** Length of the chaos phase: traffic is paced over it, kills and fault windows fall in it. */
  readonly durationMs: number;
  /** Data directory (default: a fresh temp directory, removed after a clean run). */
  readonly dataDir?: string;
  /** Progress lines. */
  readonly log?: (line: string) => void;
  /** Processes to kill; each at least once (default: all six, and every extra orchestrator replica). */
  readonly killTargets?: readonly ChaosTarget[];
  /** Kills in all (default: one per 6 s of duration, at least one per target). */
  readonly kills?: number;
  /** Demo failure rate of every service (default 0.05). */
  readonly demoFailureRate?: number;
  /** Demo latency of every service (default "0-20"). */
  readonly demoLatencyMs?: string;
  /** Orchestrator's per-call deadline (default 1000 ms); delays hold replies longer than it. */
  readonly stepTimeoutMs?: number;
  /** Gateway's wait before it answers 202 (default 1500 ms). */
  readonly sagaWaitMs?: number;
  /** Orchestrator's MAX_SAGAS_IN_FLIGHT (default: unset, the orchestrator's own default). */
  readonly maxSagasInFlight?: number;
  /** Orchestrator's STEP_MAX_ATTEMPTS and SAGA_DEADLINE_MS (default: the orchestrator's own). Small values force "outcome unknown" compensations. */
  readonly stepMaxAttempts?: number;
  readonly sagaDeadlineMs?: number;
  /** Multiplies the random fault windows' rates (default 1; 0 leaves only the one-shot faults). */
  readonly faultIntensity?: number;
  /** Focus the random fault windows on some kinds and some services (default: all). */
  readonly windowKinds?: readonly FaultKind[];
  readonly windowServices?: readonly ServiceName[];
  /** Bound on the wait for every saga to be terminal once faults stop (default 90 s). */
  readonly quiescenceMs?: number;
  /** Share of sagas whose POST is repeated after the outcome (default 0.05). */
  readonly repeatChance?: number;
  /** Share of sagas whose first POST is sent twice at once (default 0.05). */
  readonly twinChance?: number;
  /** Keep the data directory (and chaos.log in it) even after a clean run. */
  readonly keepData?: boolean;
  /** DURABILITY of the orchestrator and the services (default `process`). */
  readonly durability?: Durability;
  /**
   * Run on PostgreSQL: the admin connection of a server (a user that may create databases).
   * The run creates its own databases there (the saga log, and one per service, which a
   * service uses when it keeps its store in PostgreSQL), and drops them after a clean run.
   */
  readonly postgresAdminUrl?: string;
  /** Orchestrator replicas on the one saga log (default 1; more needs `postgresAdminUrl`). */
  readonly orchestrators?: number;
  /**
   * Sagas that may end unacknowledged before the run counts as failed (default 0): the client
   * retries within its bounds, so a saga never answered means the system stayed unavailable
   * longer than a client would wait.
   */
  readonly maxUnacknowledged?: number;
  /**
   * Bound on the whole run from its start (default: duration + twice the quiescence bound +
   * 3 min). When it passes, clients stop (what they had not sent or not had answered is counted
   * unacknowledged), the wait for quiescence ends, the checks run, and the run fails.
   */
  readonly runBoundMs?: number;
}

export interface ChaosSummary {
  readonly seed: number;
  readonly sagas: number;
  readonly durability: Durability;
  /** The durability each process said it runs with in its last "listening" line (the gateway has none). */
  readonly durabilityByProcess: Record<string, string>;
  readonly acknowledged: number;
  readonly unacknowledged: number;
  /** Unacknowledged sagas by fate ("never sent", "sent, no saga", "sent, saga COMPLETED", …). */
  readonly unacknowledgedByFate: Record<string, number>;
  /** The first 50 unacknowledged sagas, each with its fate at the orchestrator. */
  readonly unacknowledgedSagas: readonly UnacknowledgedSaga[];
  readonly maxUnacknowledged: number;
  /** Whether the run reached its bound (`runBoundMs`) and was cut short: a failure. */
  readonly boundReached: boolean;
  readonly runBoundMs: number;
  /** Final status of every saga at the orchestrator. */
  readonly byStatus: Record<string, number>;
  /** Final status per planned intent (success, failure at catalog, …). */
  readonly byIntent: Record<string, Record<string, number>>;
  /** Orders meant to succeed that were compensated, by "failed step:error code". */
  readonly successFailures: Record<string, number>;
  readonly faults: Record<FaultKind, number>;
  readonly faultsByService: Record<string, Record<FaultKind, number>>;
  /** Per proxy: connections, connections refused while the service was down, lost replies whose answer never came (counted as drops). */
  readonly proxies: Record<string, { connections: number; upstreamRefused: number; lostReplyUnconfirmed: number }>;
  readonly kills: Record<string, number>;
  /** Orchestrator replicas, and the saga log's database when on PostgreSQL (its name). */
  readonly orchestrators: number;
  readonly postgres: string | undefined;
  /** Processes that exited without being killed (each one is also a violation). */
  readonly crashes: Record<string, number>;
  readonly clientRetries: number;
  /** Same-key checks done: POSTs repeated after the outcome, and first POSTs sent twice at once. */
  readonly sameKeyChecks: { repeats: number; twins: number };
  readonly polls: number;
  /** Every HTTP answer the clients got, by status ("200", "503", "GET 200", "network", …). */
  readonly answers: Record<string, number>;
  readonly violations: string[];
  readonly lost: string[];
  readonly sagasLost: number;
  readonly durationMs: number;
  readonly phasesMs: { start: number; traffic: number; quiescence: number; check: number };
  /** Where the data and chaos.log are (kept after a failing run). */
  readonly dataDir: string;
  readonly dataKept: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const sleepUntil = (at: number): Promise<void> => sleep(at - Date.now());

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether one process answers its health check now. */
async function isHealthy(name: ProcessName, url: string): Promise<boolean> {
  try {
    if (name === "gateway") return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) })).ok;
    const client = createServiceClient(Health, url, { timeoutMs: 2_000 });
    try {
      return (await client.check({ service: "" })).status === HealthCheckResponse_ServingStatus.SERVING;
    } finally {
      client.close();
    }
  } catch {
    return false;
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const startedAt = Date.now();
  const log = options.log ?? (() => {});
  const random = createPrng(options.seed);
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "tp-saga-chaos-"));
  const stepTimeoutMs = options.stepTimeoutMs ?? 1_000;
  const sagaWaitMs = options.sagaWaitMs ?? 1_500;
  const quiescenceMs = options.quiescenceMs ?? 90_000;
  const durationMs = options.durationMs;
  const durability = options.durability ?? "process";
  const maxUnacknowledged = options.maxUnacknowledged ?? 0;
  const runBoundMs = options.runBoundMs ?? durationMs + 2 * quiescenceMs + 180_000;
  // The run's bound: clients stop, quiescence stops waiting, the checks still run.
  const bound = new AbortController();
  const durabilityByProcess: Record<string, string> = {};
  const boundTimer = setTimeout(() => bound.abort(), runBoundMs);
  const violations: string[] = [];
  const logs: string[] = [];
  const orchestrators = options.orchestrators ?? 1;
  if (!Number.isInteger(orchestrators) || orchestrators < 1 || orchestrators > 9)
    throw new Error(`orchestrators: an integer from 1 to 9, not ${orchestrators}`);
  if (orchestrators > 1 && options.postgresAdminUrl === undefined)
    throw new Error("several orchestrators share one saga log: they need PostgreSQL (postgresAdminUrl)");
  // Every target: the six processes, with the extra orchestrator replicas after the first.
  const extraOrchestrators = Array.from({ length: orchestrators - 1 }, (_, i) => `orchestrator-${i + 2}` as const);
  const TARGETS: readonly ChaosTarget[] = [...SERVICE_NAMES, "orchestrator", ...extraOrchestrators, "gateway"];
  const kills: Record<string, number> = Object.fromEntries(TARGETS.map((n) => [n, 0]));
  const crashes: Record<string, number> = Object.fromEntries(TARGETS.map((n) => [n, 0]));
  const answers: Record<string, number> = {};
  const count = (what: string): void => void (answers[what] = (answers[what] ?? 0) + 1);

  // A proxy per service, in front of a port chosen now (a restart reuses it).
  const servicePorts = {} as Record<ServiceName, number>;
  const proxies = {} as Record<ServiceName, FaultProxy>;
  for (const s of SERVICE_NAMES) {
    servicePorts[s] = await freePort();
    proxies[s] = await startFaultProxy({
      upstreamPort: servicePorts[s],
      seed: random.fork(`proxy:${s}`).int(0, 2 ** 31),
      protocol: "http2",
      delayMs: [stepTimeoutMs + 200, stepTimeoutMs * 2 + 500],
      lostReplyWaitMs: stepTimeoutMs * 2,
      // Within the late call's own deadline, so that the service still acts on it.
      lateRequestMs: [50, Math.max(60, Math.floor(stepTimeoutMs * 0.7))],
      onFault: (kind, detail) => logs.push(`${new Date().toISOString()} [proxy ${s}] ${kind}: ${detail}`),
    });
  }

  // On PostgreSQL: databases of this run's own, dropped after a clean run.
  let databases: ClusterDatabases | undefined;
  if (options.postgresAdminUrl !== undefined) {
    const prefix = `chaos_${options.seed}_${Math.floor(Math.random() * 2 ** 32).toString(16)}`;
    databases = clusterDatabaseUrls(options.postgresAdminUrl, prefix);
    await ensureClusterDatabases(options.postgresAdminUrl, databases);
  }
  const orchestratorPorts = await Promise.all(Array.from({ length: orchestrators }, () => freePort()));
  const orchestratorUrls = orchestratorPorts.map((p) => `http://127.0.0.1:${p}`).join(",");
  const orchestratorEnv = (replica: string): Record<string, string> => ({
    CATALOG_URL: proxies.catalog.url,
    PAYMENTS_URL: proxies.payments.url,
    PURCHASES_URL: proxies.purchases.url,
    INVENTORY_URL: proxies.inventory.url,
    STEP_TIMEOUT_MS: String(stepTimeoutMs),
    ...(options.maxSagasInFlight ? { MAX_SAGAS_IN_FLIGHT: String(options.maxSagasInFlight) } : {}),
    ...(options.stepMaxAttempts ? { STEP_MAX_ATTEMPTS: String(options.stepMaxAttempts) } : {}),
    ...(options.sagaDeadlineMs ? { SAGA_DEADLINE_MS: String(options.sagaDeadlineMs) } : {}),
    ...(databases ? { DATABASE_URL: databases.orchestrator, REPLICA_ID: replica } : {}),
  });

  let system: RunningSystem | undefined;
  /** The extra orchestrator replicas, each a one-process system. */
  const extras = new Map<ChaosTarget, RunningSystem>();
  let stopping = false;
  const busy = new Set<ChaosTarget>();
  const records: ClientRecord[] = [];
  let summary: ChaosSummary | undefined;
  let phaseStart: number;
  let phaseTraffic: number;
  let phaseQuiescence: number;
  try {
    const onLineOf =
      (target: ChaosTarget) =>
      (_name: ProcessName, line: string): void => {
        if (logs.length < 200_000) logs.push(`${new Date().toISOString()} [${target}] ${line}`);
        if (line.includes('"listening"') && line.includes('"durability"')) {
          try {
            durabilityByProcess[target] = String((JSON.parse(line) as { durability?: unknown }).durability);
          } catch {
            /* not a JSON line */
          }
        }
      };
    system = await startSystem({
      dataDir,
      ports: { ...servicePorts, orchestrator: orchestratorPorts[0]!, gateway: 0 },
      env: { LOG_LEVEL: "warn", DURABILITY: durability },
      envOf: {
        orchestrator: orchestratorEnv("orchestrator"),
        // With several orchestrators, the gateway balances over all of them.
        gateway: { SAGA_WAIT_MS: String(sagaWaitMs), ORCHESTRATOR_URL: orchestratorUrls },
        ...Object.fromEntries(
          SERVICE_NAMES.map((s) => [
            s,
            {
              DEMO_FAILURE_RATE: String(options.demoFailureRate ?? 0.05),
              DEMO_LATENCY_MS: options.demoLatencyMs ?? "0-20",
              ...(databases ? { DATABASE_URL: databases[s] } : {}),
            },
          ]),
        ),
      },
      onLine: (name, line) => onLineOf(name)(name, line),
      readyTimeoutMs: 60_000,
    });
    const sys = system;
    for (const [i, replica] of extraOrchestrators.entries()) {
      extras.set(
        replica,
        await startSystem({
          only: ["orchestrator"],
          dataDir,
          ports: { orchestrator: orchestratorPorts[i + 1]! },
          env: { LOG_LEVEL: "warn", DURABILITY: durability },
          envOf: { orchestrator: orchestratorEnv(replica) },
          onLine: onLineOf(replica),
          readyTimeoutMs: 60_000,
        }),
      );
    }
    // Each target's system, and its process name in it.
    const where = (target: ChaosTarget): { system: RunningSystem; name: ProcessName } => {
      const extra = extras.get(target);
      return extra ? { system: extra, name: "orchestrator" } : { system: sys, name: target as ProcessName };
    };
    const urls = { ...sys.urls, orchestrator: orchestratorUrls };
    const urlOf = (target: ChaosTarget): string => {
      const w = where(target);
      return w.system.urls[w.name];
    };
    const initial = await takeSnapshot(urls);
    phaseStart = Date.now() - startedAt;
    log(`system up in ${phaseStart} ms (data ${dataDir}, DURABILITY=${durability}); initial money ${initial.totalBalanceCents}`);

    /** Starts `name` again, retrying a bounded number of times; a failure is a violation. */
    const restart = async (name: ChaosTarget): Promise<void> => {
      for (let attempt = 1; attempt <= 5; attempt++) {
        const t = Date.now();
        try {
          await where(name).system.restart(where(name).name);
          log(`  ${name} up again in ${Date.now() - t} ms`);
          return;
        } catch (err) {
          log(`  ${name} restart attempt ${attempt} failed: ${(err as Error).message}`);
          await sleep(500);
        }
      }
      violations.push(`process: ${name} could not be restarted`);
    };
    const onUnexpectedExit = (name: ChaosTarget, code: number | null, signal: NodeJS.Signals | null): void => {
      crashes[name] = (crashes[name] ?? 0) + 1;
      violations.push(`process: ${name} exited on its own (code ${code}, signal ${signal}); see chaos.log`);
      log(`!! ${name} exited on its own (code ${code}, signal ${signal})`);
      if (stopping || busy.has(name)) return;
      busy.add(name);
      void restart(name).finally(() => busy.delete(name));
    };
    sys.onUnexpectedExit = onUnexpectedExit;
    for (const [replica, extra] of extras) extra.onUnexpectedExit = (_name, code, signal) => onUnexpectedExit(replica, code, signal);

    const t0 = Date.now();
    const chaosEnd = t0 + durationMs;
    // Clients keep trying while the chaos lasts and give up `quiescenceMs` after it really
    // ended (kills and restarts on a busy machine outlast the planned duration); the run bound
    // caps both.
    let clientDeadline = Number.POSITIVE_INFINITY;
    const trafficDone = new AbortController();

    // Traffic: `concurrency` clients, saga i not sent before t0 + i·gap, each with its own key.
    const plan = planOrders(options.sagas, random.fork("orders"));
    const gap = durationMs / Math.max(1, options.sagas);
    let nextIndex = 0;
    let answered = 0;
    const worker = async (w: number): Promise<void> => {
      const clientRandom = random.fork(`client:${w}`);
      for (;;) {
        const i = nextIndex++;
        const order = plan[i];
        if (order === undefined) return;
        await sleepUntil(t0 + i * gap);
        const rec = await runClientSaga(`chaos-${options.seed}-${i}`, order, {
          gatewayUrl: urls.gateway,
          deadlineAt: () => clientDeadline,
          requestTimeoutMs: sagaWaitMs + 10_000,
          repeatChance: options.repeatChance ?? 0.05,
          twinChance: options.twinChance ?? 0.05,
          random: clientRandom,
          onAnswer: count,
          signal: bound.signal,
        });
        records.push(rec);
        if (++answered % Math.max(1, Math.floor(options.sagas / 10)) === 0) log(`  ${answered}/${options.sagas} sagas answered`);
      }
    };
    const traffic = Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, (_, w) => worker(w))).finally(() => trafficDone.abort());

    // Kills: every target at least once, at seeded moments spread over the chaos phase.
    const killRandom = random.fork("kills");
    const targets = options.killTargets ?? TARGETS;
    const totalKills = Math.max(targets.length, options.kills ?? Math.round(durationMs / 6_000));
    const killPlan = [...killRandom.shuffle(targets)];
    while (killPlan.length < totalKills && targets.length > 0) killPlan.push(killRandom.pick(targets));
    const killer = (async () => {
      const slot = (durationMs * 0.85) / Math.max(1, killPlan.length);
      for (const [j, first] of killPlan.entries()) {
        await sleepUntil(t0 + durationMs * 0.05 + j * slot + killRandom.int(0, Math.floor(slot * 0.5)));
        if (bound.signal.aborted) break;
        // Sometimes two at once: the second victim is any other target.
        const victims = [first];
        const others = targets.filter((n) => n !== first);
        if (others.length > 0 && killRandom.chance(0.2)) victims.push(killRandom.pick(others));
        const downtime = killRandom.int(0, 1_000);
        const names = victims.filter((n) => !busy.has(n));
        for (const n of names) busy.add(n);
        try {
          await Promise.all(
            names.map(async (n) => {
              const pid = where(n).system.pid(where(n).name);
              await where(n).system.kill(where(n).name, "SIGKILL");
              kills[n] = (kills[n] ?? 0) + 1;
              log(`kill -9 ${n} (pid ${pid}) at +${Date.now() - t0} ms, down for ${downtime} ms`);
            }),
          );
          await sleep(downtime);
          // Start again in dependency order: services, orchestrator, gateway. Sometimes kill a
          // process again while it starts (the orchestrator then dies while it resumes sagas).
          for (const n of TARGETS) {
            if (!names.includes(n)) continue;
            if (killRandom.chance(0.25)) {
              const starting = where(n)
                .system.restart(where(n).name)
                .then(
                  () => "up",
                  () => "died while starting",
                );
              await sleep(killRandom.int(100, 1_500));
              await where(n).system.kill(where(n).name, "SIGKILL");
              kills[n] = (kills[n] ?? 0) + 1;
              log(`kill -9 ${n} again during its start-up: ${await starting}`);
            }
            await restart(n);
          }
        } finally {
          for (const n of names) busy.delete(n);
        }
      }
    })();

    // Faults: one of each kind at each service at a seeded moment, plus random windows of random rates.
    const faultRandom = random.fork("faults");
    const oneShots = SERVICE_NAMES.flatMap((s) => FAULT_KINDS.map((k) => ({ s, k, at: t0 + durationMs * (0.05 + 0.55 * faultRandom.next()) }))).sort(
      (a, b) => a.at - b.at,
    );
    const injector = (async () => {
      for (const { s, k, at } of oneShots) {
        await sleepUntil(at);
        proxies[s].inject(k);
      }
    })();
    const intensity = options.faultIntensity ?? 1;
    const windows = (async () => {
      while (Date.now() < chaosEnd - 500 && !bound.signal.aborted) {
        await sleep(faultRandom.int(300, 2_000));
        const s = faultRandom.pick(options.windowServices ?? SERVICE_NAMES);
        const kinds = options.windowKinds ?? FAULT_KINDS;
        const rates = Object.fromEntries(
          kinds.map((k) => [k, faultRandom.chance(0.6) ? Math.min(1, (0.05 + faultRandom.next() * 0.25) * intensity) : 0]),
        );
        proxies[s].setFaults(rates);
        await sleep(Math.min(faultRandom.int(300, 1_500), chaosEnd - Date.now()));
        proxies[s].setFaults({});
      }
    })();

    await Promise.all([killer, injector, windows]);
    clientDeadline = Math.max(chaosEnd, Date.now()) + quiescenceMs;
    for (const p of Object.values(proxies)) p.setFaults("off");
    log(`chaos over at +${Date.now() - t0} ms: faults off, ${Object.values(kills).reduce((a, b) => a + b, 0)} kills`);
    await traffic;
    phaseTraffic = Date.now() - t0;
    log(`traffic done at +${phaseTraffic} ms`);

    // Every process up (a crash restart may still be running).
    for (let i = 0; i < 100 && busy.size > 0; i++) await sleep(200);
    for (const n of TARGETS) {
      if (!(await isHealthy(where(n).name, urlOf(n)))) {
        log(`  ${n} not healthy after the chaos: restarting it`);
        await restart(n);
      }
    }

    // Quiescence: no saga RUNNING, COMPENSATING or CONFIRMING (bounded).
    const q0 = Date.now();
    const orchestrator = createServiceClient(OrchestratorService, urls.orchestrator, { timeoutMs: 10_000, maxMessageBytes: 64 << 20 });
    let pending = -1;
    try {
      while (Date.now() - q0 < quiescenceMs && !bound.signal.aborted) {
        try {
          const page = await orchestrator.listSagas({ statuses: [...UNFINISHED_SAGA_STATUSES], pageSize: 1000 });
          pending = page.sagas.length;
          if (pending === 0) break;
        } catch {
          /* retry */
        }
        await sleep(250);
      }
      phaseQuiescence = Date.now() - q0;
      if (pending !== 0 && bound.signal.aborted)
        violations.push(`liveness: ${pending < 0 ? "an unknown number of" : pending} sagas not terminal when the run bound cut the wait short`);
      else if (pending !== 0)
        violations.push(
          `liveness: ${pending < 0 ? "unknown number of" : pending} sagas still not terminal ${quiescenceMs} ms after the faults stopped`,
        );
      log(`quiescent after ${phaseQuiescence} ms`);

      // Checks: the invariants, then the client's view.
      const c0 = Date.now();
      const report = await checkInvariants(urls, initial);
      const views: SagaView[] = [];
      let token = "";
      for (let i = 0; i < 10_000; i++) {
        const page = await orchestrator.listSagas({ pageSize: 1000, pageToken: token });
        for (const s of page.sagas) {
          views.push({
            sagaId: s.sagaId,
            idempotencyKey: s.idempotencyKey,
            status: SagaStatus[s.status] ?? "UNSPECIFIED",
            failedStep: s.failedStep,
            errorCode: s.errorCode,
          });
        }
        token = page.nextPageToken;
        if (token === "") break;
      }
      const client = checkClientRecords(records, views);
      violations.push(...report.violations, ...client.violations);
      if (bound.signal.aborted) violations.push(`run bound: the run outlasted its bound of ${runBoundMs} ms and was cut short`);
      const fates = unacknowledgedByFate(client.unacknowledgedSagas);
      if (client.unacknowledged > 0) log(`${client.unacknowledged} sagas never acknowledged: ${JSON.stringify(fates)}`);
      const byKey = new Map(views.map((v) => [v.idempotencyKey, v]));
      const byIntent: Record<string, Record<string, number>> = {};
      for (const r of records) {
        const status = byKey.get(r.key)?.status ?? "(no saga)";
        const row = (byIntent[r.order.intent as Intent] ??= {});
        row[status] = (row[status] ?? 0) + 1;
      }
      // Why orders meant to succeed did not: demo failures, budgets spent on faults and downtime.
      const successFailures: Record<string, number> = {};
      for (const r of records) {
        const v = byKey.get(r.key);
        if ((r.order.intent === "success" || r.order.intent === "default") && v?.status === "COMPENSATED") {
          const why = `${v.failedStep || "?"}:${v.errorCode || "?"}`;
          successFailures[why] = (successFailures[why] ?? 0) + 1;
        }
      }
      const faultsByService = Object.fromEntries(SERVICE_NAMES.map((s) => [s, { ...proxies[s].counts }]));
      const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, SERVICE_NAMES.reduce((n, s) => n + proxies[s].counts[k], 0)])) as Record<
        FaultKind,
        number
      >;
      const failed = violations.length > 0 || client.lost.length > 0 || client.unacknowledged > maxUnacknowledged;
      summary = {
        seed: options.seed,
        sagas: options.sagas,
        durability,
        durabilityByProcess: { ...durabilityByProcess },
        acknowledged: records.filter((r) => r.ack).length,
        unacknowledged: client.unacknowledged,
        unacknowledgedByFate: fates,
        unacknowledgedSagas: client.unacknowledgedSagas.slice(0, 50),
        maxUnacknowledged,
        boundReached: bound.signal.aborted,
        runBoundMs,
        byStatus: report.byStatus as Record<string, number>,
        byIntent,
        successFailures,
        faults,
        faultsByService,
        proxies: Object.fromEntries(
          SERVICE_NAMES.map((s) => {
            const st = proxies[s].stats();
            return [s, { connections: st.connections, upstreamRefused: st.upstreamRefused, lostReplyUnconfirmed: st.lostReplyUnconfirmed }];
          }),
        ),
        kills,
        orchestrators,
        postgres: databases ? new URL(databases.orchestrator).pathname.slice(1) : undefined,
        crashes,
        clientRetries: records.reduce((n, r) => n + r.retries, 0),
        sameKeyChecks: { repeats: records.filter((r) => r.repeat).length, twins: records.filter((r) => r.twin?.sagaId).length },
        polls: records.reduce((n, r) => n + r.polls, 0),
        answers,
        violations,
        lost: client.lost,
        sagasLost: client.lost.length,
        durationMs: 0,
        phasesMs: { start: phaseStart, traffic: phaseTraffic, quiescence: phaseQuiescence, check: Date.now() - c0 },
        dataDir,
        dataKept: failed || options.keepData === true || options.dataDir !== undefined,
      };
    } finally {
      orchestrator.close();
    }
  } finally {
    clearTimeout(boundTimer);
    stopping = true;
    for (const p of Object.values(proxies)) p.setFaults("off");
    await system?.stop();
    for (const extra of extras.values()) await extra.stop();
    await Promise.all(Object.values(proxies).map((p) => p.close()));
    const keep = summary === undefined || summary.dataKept;
    if (databases && !keep) await dropClusterDatabases(options.postgresAdminUrl!, databases);
    if (keep) {
      try {
        writeFileSync(join(dataDir, "chaos.log"), logs.join("\n") + "\n");
        writeFileSync(join(dataDir, "clients.json"), JSON.stringify(records, null, 1));
      } catch {
        /* the directory may be gone */
      }
    } else {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  if (!summary) throw new Error("chaos run ended without a summary");
  return { ...summary, durationMs: Date.now() - startedAt };
}

/**
 * Whether a run failed: any violation (a broken invariant, the run bound reached, …), any lost
 * saga, or more sagas left unacknowledged than the run allows.
 */
export function chaosFailed(s: ChaosSummary): boolean {
  return s.violations.length > 0 || s.sagasLost > 0 || s.unacknowledged > s.maxUnacknowledged;
}

/** The summary as a plain-text table. */
export function formatSummary(s: ChaosSummary): string {
  const lines: string[] = [];
  const row = (k: string, v: string | number): void => void lines.push(`${k.padEnd(28)} ${v}`);
  const kv = (o: Record<string, number>): string =>
    Object.entries(o)
      .map(([k, v]) => `${k}=${v}`)
      .join("  ") || "-";
  lines.push(
    `chaos run, seed ${s.seed}, DURABILITY=${s.durability}, ${s.orchestrators} orchestrator${s.orchestrators > 1 ? "s" : ""}, ${s.postgres ? `saga log on PostgreSQL (${s.postgres})` : "SQLite"}`,
    "-".repeat(72),
  );
  row("sagas planned", s.sagas);
  row("acknowledged / not", `${s.acknowledged} / ${s.unacknowledged} (at most ${s.maxUnacknowledged} allowed)`);
  if (s.unacknowledged > 0) row("  not acknowledged", kv(s.unacknowledgedByFate));
  for (const u of s.unacknowledgedSagas.slice(0, 10))
    lines.push(`  - ${u.key}: ${u.posts} POSTs, ${u.problem}${u.saga ? `; saga ${u.saga.sagaId} is ${u.saga.status}` : ""}`);
  row("final status", kv(s.byStatus));
  for (const [intent, byStatus] of Object.entries(s.byIntent).sort()) row(`  planned ${intent}`, kv(byStatus));
  row("  success compensated by", kv(s.successFailures));
  row("faults injected", kv(s.faults));
  for (const [svc, f] of Object.entries(s.faultsByService)) row(`  at ${svc}`, `${kv(f)}   (${kv(s.proxies[svc] ?? {})})`);
  row("kills (SIGKILL)", kv(s.kills));
  row("crashes (unasked exits)", kv(Object.fromEntries(Object.entries(s.crashes).filter(([, n]) => n > 0))));
  row("client retries / polls", `${s.clientRetries} / ${s.polls}`);
  row("same-key checks", `${s.sameKeyChecks.repeats} repeats after the outcome, ${s.sameKeyChecks.twins} twin POSTs at once`);
  row("answers", kv(s.answers));
  row("invariant violations", s.violations.length);
  for (const v of s.violations.slice(0, 20)) lines.push(`  - ${v}`);
  row("sagas lost", s.sagasLost);
  for (const v of s.lost.slice(0, 20)) lines.push(`  - ${v}`);
  row(
    "duration",
    `${(s.durationMs / 1000).toFixed(1)} s of a bound of ${(s.runBoundMs / 1000).toFixed(0)} s${s.boundReached ? " (REACHED: cut short)" : ""} (start ${s.phasesMs.start} ms, traffic ${s.phasesMs.traffic} ms, quiescence ${s.phasesMs.quiescence} ms, check ${s.phasesMs.check} ms)`,
  );
  row("data", `${s.dataDir}${s.dataKept ? " (kept, with chaos.log and clients.json)" : " (removed)"}`);
  lines.push("-".repeat(72), chaosFailed(s) ? "FAILED" : `OK: no violation, no saga lost, ${s.unacknowledged} unacknowledged`);
  return lines.join("\n");
}
