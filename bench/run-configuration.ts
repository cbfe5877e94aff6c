import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PROCESSES, SERVICE_NAMES, type ProcessName } from "../system/processes.js";
import { startSystem, type RunningSystem } from "../system/start-system.js";
import { checkInvariants, takeSnapshot } from "../system/invariants.js";
import { runLoad, type LoadResult } from "./load.js";
import { levelOutcome, machineShares, round, type LevelOutcome, type LoadPlan, type MachineShares } from "./level-outcome.js";
import { missingForReplicas } from "./orchestrator-replicas.js";
import { createBenchDatabase, openBackendReader, postmasterPid, type BackendReader, type BenchDatabase } from "./postgres-bench-database.js";
import { cpuMsOf, machineCpu, peakRssKiBOf, processTreeCpuMs, resetPeakRss } from "./process-stats.js";
import { sagaMix } from "./saga-mix.js";
import { waitForIdle } from "./wait-for-idle.js";

/** One system under test: a durability setting over SQLite files or a PostgreSQL saga log, or the in-memory ceiling. */
export interface Configuration {
  /** "process", "power", "ceiling", or "pg-process-x2" (PostgreSQL saga log, durability, orchestrator replicas). */
  readonly name: string;
  readonly durability: "process" | "power";
  /** Stores in memory (`DATA_DIR=:memory:`): same processes, nothing durable. */
  readonly inMemory: boolean;
  /** Where the orchestrator's saga log lives (the four services keep their SQLite files either way). Default "sqlite". */
  readonly sagaLog?: "sqlite" | "postgres";
  /** Orchestrator processes on the one saga log (more than one only on PostgreSQL). Default 1. */
  readonly orchestrators?: number;
}

export interface RunSettings extends LoadPlan {
  readonly sagaWaitMs: number;
  /** When set, every process runs with `--cpu-prof --cpu-prof-dir=<this>/<configuration>`. */
  readonly cpuProfDir: string | undefined;
  readonly dataParent: string;
  /** The PostgreSQL server of `sagaLog: "postgres"` configurations (each gets a database of its own, dropped after). */
  readonly postgresAdminUrl?: string;
  /** Progress and process output (stderr). */
  readonly log: (line: string) => void;
}

/** PostgreSQL's CPU during a level (configurations with the saga log on PostgreSQL). */
export interface PostgresCpu {
  /**
   * Every process of the server (postmaster, its children alive, and those that exited during the
   * level, through the postmaster's cutime + cstime), in ms; NaN when the server's processes cannot
   * be read from here (`unreadable` says why). Includes work for other databases on the same server.
   */
  readonly serverMs: number;
  readonly serverMsPerSaga: number;
  /** The backends connected to this configuration's database (pg_stat_activity at the level's start and end), in ms. */
  readonly backendsMs: number;
  readonly backendsMsPerSaga: number;
  readonly unreadable?: string;
}

export type PerProcess<T> = Record<ProcessName, T>;

export interface LevelResult extends LevelOutcome, MachineShares {
  readonly concurrency: number;
  /** CPU ms over the level, per process, for the six together ("system") and for the load generator. */
  readonly cpuMs: PerProcess<number> & { system: number; loadGenerator: number };
  /** The same divided by `finished`. */
  readonly cpuMsPerSaga: PerProcess<number> & { system: number; loadGenerator: number };
  /** With several orchestrators, each replica's CPU ms per saga (their sum is `cpuMsPerSaga.orchestrator`). */
  readonly orchestratorReplicasCpuMsPerSaga?: readonly number[];
  /** PostgreSQL's own CPU, when the saga log is on PostgreSQL (not in `system`, which is our six kinds of process). */
  readonly postgres?: PostgresCpu;
  /** Peak RSS in MiB during the level (VmHWM, reset before the level when `peakRssPerLevel`; with replicas, their sum). */
  readonly peakRssMiB: PerProcess<number>;
  readonly peakRssPerLevel: boolean;
  /** The level on the monotonic clock (µs, as V8 profile timestamps): `profile-top --from-us --to-us`. */
  readonly monotonicWindowUs: { readonly fromUs: number; readonly toUs: number };
}

export interface ConfigurationResult {
  readonly configuration: Configuration;
  readonly dataDir: string;
  readonly warmup:
    | {
        readonly sagas: number;
        readonly elapsedMs: number;
        readonly statusCounts: Readonly<Record<string, number>>;
        readonly errors: Readonly<Record<string, number>>;
      }
    | undefined;
  readonly levels: readonly LevelResult[];
  readonly invariants:
    | {
        readonly sagas: number;
        readonly byStatus: Readonly<Record<string, number>>;
        readonly violationCount: number;
        readonly violations: readonly string[];
      }
    | undefined;
  /** Why the run is void (violations, a crash, a start failure), or undefined when it is valid. */
  readonly voidReason: string | undefined;
  /** Profile file per process (per replica: "orchestrator.r2"), when profiled. */
  readonly profiles: Partial<Record<string, string>> | undefined;
}

const NAMES = PROCESSES.map((p) => p.name);
const active = new Set<RunningSystem>();

/** Stops every system a `runConfiguration` still runs (for a benchmark interrupted by a signal). */
export async function stopRunningSystems(): Promise<void> {
  await Promise.all([...active].map((s) => s.stop()));
}

const perProcess = <T>(f: (name: ProcessName) => T): PerProcess<T> => Object.fromEntries(NAMES.map((n) => [n, f(n)])) as PerProcess<T>;
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The processes under test, however many systems started them. */
interface UnderTest {
  readonly urls: Readonly<Record<ProcessName, string>>;
  /** Pids of each kind of process (several orchestrators with replicas). */
  readonly pids: ReadonlyMap<ProcessName, readonly number[]>;
  readonly systems: readonly RunningSystem[];
}

/** Stops systems in reverse order of start (gateway first). */
async function stopAll(systems: readonly RunningSystem[]): Promise<void> {
  for (const s of [...systems].reverse()) {
    await s.stop();
    active.delete(s);
  }
}

/**
 * Starts the six processes; with `replicas` > 1, the four services and a first orchestrator, then
 * the other orchestrators on the same saga log, then the gateway given every orchestrator's address.
 */
async function startUnderTest(
  replicas: number,
  base: Omit<Parameters<typeof startSystem>[0], "only" | "ports">,
  onExit: (name: string, code: number | null, signal: NodeJS.Signals | null) => void,
): Promise<UnderTest> {
  const systems: RunningSystem[] = [];
  const track = (s: RunningSystem, label: (name: ProcessName) => string): RunningSystem => {
    systems.push(s);
    active.add(s);
    s.onUnexpectedExit = (name, code, signal) => onExit(label(name), code, signal);
    return s;
  };
  const ports = { catalog: 0, payments: 0, purchases: 0, inventory: 0, orchestrator: 0, gateway: 0 };
  try {
    if (replicas === 1) {
      const all = track(await startSystem({ ...base, ports }), (n) => n);
      return { urls: all.urls, pids: new Map(NAMES.map((n) => [n, [all.pid(n)!]])), systems };
    }
    const first = track(
      await startSystem({
        ...base,
        ports,
        only: [...SERVICE_NAMES, "orchestrator"],
        envOf: { ...base.envOf, orchestrator: { ...base.envOf?.orchestrator, REPLICA_ID: "bench-orchestrator-1" } },
      }),
      (n) => n,
    );
    const services = Object.fromEntries(
      [
        ["CATALOG_URL", "catalog"],
        ["PAYMENTS_URL", "payments"],
        ["PURCHASES_URL", "purchases"],
        ["INVENTORY_URL", "inventory"],
      ].map(([variable, name]) => [variable, first.urls[name as ProcessName]]),
    );
    const orchestrators = [first];
    for (let r = 2; r <= replicas; r++) {
      const replica = await startSystem({
        ...base,
        ports,
        only: ["orchestrator"],
        envOf: { orchestrator: { ...base.envOf?.orchestrator, ...services, REPLICA_ID: `bench-orchestrator-${r}` } },
      });
      orchestrators.push(track(replica, (n) => `${n} replica ${r}`));
    }
    const orchestratorUrls = orchestrators.map((o) => o.urls.orchestrator);
    const gateway = track(
      await startSystem({ ...base, ports, only: ["gateway"], envOf: { ...base.envOf, gateway: { ORCHESTRATOR_URL: orchestratorUrls.join(",") } } }),
      (n) => n,
    );
    const urls = { ...first.urls, gateway: gateway.urls.gateway };
    const pids = new Map<ProcessName, number[]>(SERVICE_NAMES.map((n) => [n, [first.pid(n)!]]));
    pids.set(
      "orchestrator",
      orchestrators.map((o) => o.pid("orchestrator")!),
    );
    pids.set("gateway", [gateway.pid("gateway")!]);
    return { urls, pids, systems };
  } catch (err) {
    await stopAll(systems);
    throw err;
  }
}

/** CPU ms of each pid now; a pid that is gone reads 0 (its process died: the run is void anyway). */
function cpuOfPids(pids: readonly number[]): number[] {
  return pids.map((pid) => {
    try {
      return cpuMsOf(pid);
    } catch {
      return 0;
    }
  });
}

/** Reads PostgreSQL's CPU at a level's start or end. */
async function postgresReading(
  reader: BackendReader,
  postmaster: number | string,
  database: string,
): Promise<{ server: number; backends: Map<number, number> }> {
  const backends = new Map<number, number>();
  for (const pid of typeof postmaster === "number" ? await reader.backendsOf(database) : []) {
    try {
      backends.set(pid, cpuMsOf(pid));
    } catch {
      /* ended */
    }
  }
  return { server: typeof postmaster === "number" ? processTreeCpuMs(postmaster) : Number.NaN, backends };
}

/**
 * Starts the six processes of `configuration` on a fresh data directory, warms up, drives each
 * concurrency level, checks the invariants and stops everything it started.
 */
export async function runConfiguration(configuration: Configuration, settings: RunSettings): Promise<ConfigurationResult> {
  const { log } = settings;
  const replicas = configuration.orchestrators ?? 1;
  const onPostgres = configuration.sagaLog === "postgres";
  const dataDir = configuration.inMemory ? ":memory:" : mkdtempSync(join(settings.dataParent, `tp-saga-bench-${configuration.name}-`));
  const profileDir = settings.cpuProfDir === undefined ? undefined : join(settings.cpuProfDir, configuration.name);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const levels: LevelResult[] = [];
  let warmup: ConfigurationResult["warmup"];
  /** Each process's name for its profile file ("orchestrator.r2" for a second replica). */
  const pidLabels = new Map<number, string>();
  let invariants: ConfigurationResult["invariants"];
  let voidReason: string | undefined;
  let crashed: string | undefined;
  let underTest: UnderTest | undefined;
  let database: BenchDatabase | undefined;
  let backendReader: BackendReader | undefined;
  const recent: string[] = [];

  try {
    const missing = missingForReplicas(ROOT, replicas);
    if (missing.length > 0)
      throw new Error(`${replicas} orchestrators on one saga log need ${missing.join(", and ")}; this build has neither or not both`);
    const adminUrl = settings.postgresAdminUrl;
    if (onPostgres && adminUrl === undefined) throw new Error("a PostgreSQL configuration needs the server's URL (postgresAdminUrl)");
    // Every process gets DATABASE_URL explicitly: the bench's own (the server) must never reach a service or a SQLite configuration.
    let orchestratorDatabase = "";
    if (onPostgres) {
      database = await createBenchDatabase(adminUrl!, configuration.name.replace(/[^a-z0-9]/g, "_"));
      orchestratorDatabase = database.url;
      log(`[${configuration.name}] saga log on PostgreSQL, database ${database.name} (created for this configuration)`);
    }
    const postmaster = onPostgres ? await postmasterPid(adminUrl!) : "not on PostgreSQL";
    if (onPostgres) backendReader = await openBackendReader(adminUrl!);
    if (onPostgres && typeof postmaster === "string") log(`[${configuration.name}] PostgreSQL's CPU will not be measured: ${postmaster}`);
    log(
      `[${configuration.name}] starting the processes (DATA_DIR=${dataDir}, DURABILITY=${configuration.durability}` +
        `${onPostgres ? `, saga log on PostgreSQL, ${replicas} orchestrator${replicas === 1 ? "" : "s"}` : ""})`,
    );
    underTest = await startUnderTest(
      replicas,
      {
        dataDir,
        env: { DURABILITY: configuration.durability, LOG_LEVEL: "warn", SAGA_WAIT_MS: String(settings.sagaWaitMs), DATABASE_URL: "" },
        envOf: { orchestrator: { DATABASE_URL: orchestratorDatabase } },
        onLine: (name, line) => {
          recent.push(`[${name}] ${line}`);
          if (recent.length > 50) recent.shift();
          log(`  [${configuration.name}/${name}] ${line}`);
        },
        nodeFlags: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
        readyTimeoutMs: 60_000,
      },
      (name, code, signal) => {
        crashed = `${name} exited unexpectedly (code ${code}, signal ${signal})`;
        log(`[${configuration.name}] ${crashed}`);
      },
    );
    const pids = underTest.pids;
    for (const name of NAMES) if (!pids.get(name)?.every((p) => p !== undefined)) throw new Error(`no pid for ${name}`);
    for (const [name, list] of pids) for (const pid of list) pidLabels.set(pid, list.length === 1 ? name : `${name}.r${list.indexOf(pid) + 1}`);
    log(`[${configuration.name}] pids: ${[...pids].map(([name, list]) => `${name} ${list.join(",")}`).join("; ")}`);
    const urls = underTest.urls;
    const initial = await takeSnapshot(urls);
    const mix = sagaMix(settings.failures);
    let sagaIndex = 0;
    const drive = (concurrency: number, count: number): Promise<LoadResult> => {
      const first = sagaIndex;
      sagaIndex += count;
      return runLoad({
        url: `${urls.gateway}/saga`,
        concurrency,
        count,
        maxMs: settings.maxSecondsPerLevel * 1000,
        requestTimeoutMs: settings.sagaWaitMs + 15_000,
        body: (i) => mix(first + i).body,
      });
    };

    if (settings.warmup > 0) {
      log(`[${configuration.name}] warm-up: ${settings.warmup} sagas at ${settings.warmupConcurrency} clients`);
      const w = await drive(settings.warmupConcurrency, settings.warmup);
      warmup = { sagas: w.answered, elapsedMs: round(w.elapsedMs), statusCounts: w.statusCounts, errors: w.errors };
    }

    for (const concurrency of settings.levels) {
      if (crashed) break;
      const left = await waitForIdle(urls.orchestrator, 60_000);
      if (left > 0) log(`[${configuration.name}] ${left} sagas still unfinished before the ${concurrency}-client level`);
      let peakRssPerLevel = true;
      for (const list of pids.values()) for (const pid of list) peakRssPerLevel = resetPeakRss(pid) && peakRssPerLevel;
      const pgBefore = backendReader ? await postgresReading(backendReader, postmaster, database!.name) : undefined;
      const cpuBefore = perProcess((n) => cpuOfPids(pids.get(n)!));
      const selfBefore = process.cpuUsage();
      const machineBefore = machineCpu();
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      log(`[${configuration.name}] ${concurrency} clients: up to ${settings.sagas} sagas or ${settings.maxSecondsPerLevel} s`);
      const r = await drive(concurrency, settings.sagas);
      const toUs = Number(process.hrtime.bigint() / 1000n);
      const machineAfter = machineCpu();
      const self = process.cpuUsage(selfBefore);
      if (crashed) break;
      const cpuAfter = perProcess((n) => cpuOfPids(pids.get(n)!));
      const pgAfter = backendReader ? await postgresReading(backendReader, postmaster, database!.name) : undefined;
      const peakRssMiB = perProcess((n) => round(pids.get(n)!.reduce((s, pid) => s + peakRssKiBOf(pid), 0) / 1024, 1));
      const outcome = levelOutcome(r, settings.sagas);
      const per = (ms: number): number => (outcome.finished > 0 ? round(ms / outcome.finished, 3) : Number.NaN);
      const replicaCpu = cpuAfter.orchestrator.map((after, i) => after - (cpuBefore.orchestrator[i] ?? 0));
      const cpu = perProcess((n) =>
        round(
          cpuAfter[n].reduce((s, v, i) => s + v - (cpuBefore[n][i] ?? 0), 0),
          0,
        ),
      );
      const systemCpu = NAMES.reduce((s, n) => s + cpu[n], 0);
      const loadCpu = (self.user + self.system) / 1000;
      let postgres: PostgresCpu | undefined;
      if (pgBefore && pgAfter) {
        const serverMs = pgAfter.server - pgBefore.server;
        let backendsMs = 0;
        for (const [pid, ms] of pgAfter.backends) backendsMs += ms - (pgBefore.backends.get(pid) ?? 0);
        postgres = {
          serverMs: round(serverMs, 0),
          serverMsPerSaga: per(serverMs),
          backendsMs: round(backendsMs, 0),
          backendsMsPerSaga: per(backendsMs),
          ...(typeof postmaster === "string" ? { unreadable: postmaster } : {}),
        };
      }
      const pgMs = postgres && Number.isFinite(postgres.serverMs) ? postgres.serverMs : 0;
      const level: LevelResult = {
        concurrency,
        ...outcome,
        cpuMs: { ...cpu, system: systemCpu, loadGenerator: round(loadCpu, 0) },
        cpuMsPerSaga: { ...perProcess((n) => per(cpu[n])), system: per(systemCpu), loadGenerator: per(loadCpu) },
        ...(replicas > 1 ? { orchestratorReplicasCpuMsPerSaga: replicaCpu.map(per) } : {}),
        ...(postgres ? { postgres } : {}),
        peakRssMiB,
        peakRssPerLevel,
        monotonicWindowUs: { fromUs, toUs },
        ...machineShares(machineBefore, machineAfter, systemCpu + loadCpu + pgMs),
      };
      levels.push(level);
      log(
        `[${configuration.name}] ${concurrency} clients: ${level.sagasPerSecond} sagas/s, p50 ${level.latency.p50Ms} ms, ` +
          `p99 ${level.latency.p99Ms} ms, ${level.cpuMsPerSaga.system} CPU ms/saga` +
          (postgres ? ` (+ PostgreSQL ${postgres.serverMsPerSaga} server, ${postgres.backendsMsPerSaga} backends)` : "") +
          `, statuses ${JSON.stringify(r.statusCounts)}` +
          (Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : "") +
          (r.timeBound ? ` (time bound hit after ${r.sent} of ${settings.sagas})` : ""),
      );
    }

    if (crashed) {
      voidReason = crashed;
    } else {
      const left = await waitForIdle(urls.orchestrator, 120_000);
      if (left > 0) log(`[${configuration.name}] ${left} sagas still unfinished after 120 s; checking anyway`);
      log(`[${configuration.name}] checking invariants`);
      const report = await checkInvariants(urls, initial);
      invariants = {
        sagas: report.sagas,
        byStatus: report.byStatus,
        violationCount: report.violations.length,
        violations: report.violations.slice(0, 50),
      };
      if (report.violations.length > 0) voidReason = `${report.violations.length} invariant violation(s)`;
    }
  } catch (err) {
    voidReason = `${crashed ? `${crashed}; ` : ""}${(err as Error).message}`;
    log(`[${configuration.name}] failed: ${(err as Error).stack ?? String(err)}`);
    if (recent.length) log(`[${configuration.name}] last process output:\n  ${recent.join("\n  ")}`);
  } finally {
    if (underTest) {
      log(`[${configuration.name}] stopping`);
      await stopAll(underTest.systems);
    }
    await backendReader?.close().catch(() => undefined);
    await database?.drop().catch((err: unknown) => log(`[${configuration.name}] dropping database ${database?.name}: ${String(err)}`));
    if (!configuration.inMemory) rmSync(dataDir, { recursive: true, force: true });
  }
  const profiles = profileDir ? nameProfiles(profileDir, pidLabels) : undefined;
  return { configuration, dataDir, warmup, levels, invariants, voidReason, profiles };
}

/**
 * Renames node's `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile` files in `dir` to
 * `<process>.cpuprofile` (main thread) or `<process>.thread<n>.cpuprofile`.
 */
function nameProfiles(dir: string, byPid: ReadonlyMap<number, string>): Partial<Record<string, string>> {
  const out: Partial<Record<string, string>> = {};
  for (const file of readdirSync(dir)) {
    const m = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(file);
    const name = m ? byPid.get(Number(m[1])) : undefined;
    if (!m || !name) continue;
    const target = join(dir, m[2] === "0" ? `${name}.cpuprofile` : `${name}.thread${m[2]}.cpuprofile`);
    renameSync(join(dir, file), target);
    if (m[2] === "0") out[name] = target;
  }
  return out;
}
