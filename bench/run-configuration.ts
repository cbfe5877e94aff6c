import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROCESSES, type ProcessName } from "../system/processes.js";
import { startSystem, type RunningSystem } from "../system/start-system.js";
import { checkInvariants, takeSnapshot } from "../system/invariants.js";
import { runLoad, type LoadResult } from "./load.js";
import { levelOutcome, machineShares, round, type LevelOutcome, type LoadPlan, type MachineShares } from "./level-outcome.js";
import { cpuMsOf, machineCpu, peakRssKiBOf, resetPeakRss } from "./process-stats.js";
import { sagaMix } from "./saga-mix.js";
import { waitForIdle } from "./wait-for-idle.js";

/** One system under test: a durability setting over SQLite files, or the in-memory ceiling. */
export interface Configuration {
  /** "process", "power" or "ceiling". */
  readonly name: string;
  readonly durability: "process" | "power";
  /** Stores in memory (`DATA_DIR=:memory:`): same processes, nothing durable. */
  readonly inMemory: boolean;
}

export interface RunSettings extends LoadPlan {
  readonly sagaWaitMs: number;
  /** When set, every process runs with `--cpu-prof --cpu-prof-dir=<this>/<configuration>`. */
  readonly cpuProfDir: string | undefined;
  readonly dataParent: string;
  /** Progress and process output (stderr). */
  readonly log: (line: string) => void;
}

export type PerProcess<T> = Record<ProcessName, T>;

export interface LevelResult extends LevelOutcome, MachineShares {
  readonly concurrency: number;
  /** CPU ms over the level, per process, for the six together ("system") and for the load generator. */
  readonly cpuMs: PerProcess<number> & { system: number; loadGenerator: number };
  /** The same divided by `finished`. */
  readonly cpuMsPerSaga: PerProcess<number> & { system: number; loadGenerator: number };
  /** Peak RSS in MiB during the level (VmHWM, reset before the level when `peakRssPerLevel`). */
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
  /** Profile file per process, when profiled. */
  readonly profiles: Partial<PerProcess<string>> | undefined;
}

const NAMES = PROCESSES.map((p) => p.name);
const active = new Set<RunningSystem>();

/** Stops every system a `runConfiguration` still runs (for a benchmark interrupted by a signal). */
export async function stopRunningSystems(): Promise<void> {
  await Promise.all([...active].map((s) => s.stop()));
}

const perProcess = <T>(f: (name: ProcessName) => T): PerProcess<T> => Object.fromEntries(NAMES.map((n) => [n, f(n)])) as PerProcess<T>;

/**
 * Starts the six processes of `configuration` on a fresh data directory, warms up, drives each
 * concurrency level, checks the invariants and stops everything it started.
 */
export async function runConfiguration(configuration: Configuration, settings: RunSettings): Promise<ConfigurationResult> {
  const { log } = settings;
  const dataDir = configuration.inMemory ? ":memory:" : mkdtempSync(join(settings.dataParent, `tp-saga-bench-${configuration.name}-`));
  const profileDir = settings.cpuProfDir === undefined ? undefined : join(settings.cpuProfDir, configuration.name);
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const levels: LevelResult[] = [];
  let warmup: ConfigurationResult["warmup"];
  let invariants: ConfigurationResult["invariants"];
  let voidReason: string | undefined;
  let crashed: string | undefined;
  let system: RunningSystem | undefined;
  const pids = new Map<ProcessName, number>();
  const recent: string[] = [];

  try {
    log(`[${configuration.name}] starting six processes (DATA_DIR=${dataDir}, DURABILITY=${configuration.durability})`);
    system = await startSystem({
      dataDir,
      ports: { catalog: 0, payments: 0, purchases: 0, inventory: 0, orchestrator: 0, gateway: 0 },
      env: { DURABILITY: configuration.durability, LOG_LEVEL: "warn", SAGA_WAIT_MS: String(settings.sagaWaitMs) },
      onLine: (name, line) => {
        recent.push(`[${name}] ${line}`);
        if (recent.length > 50) recent.shift();
        log(`  [${configuration.name}/${name}] ${line}`);
      },
      nodeFlags: profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [],
      readyTimeoutMs: 60_000,
    });
    active.add(system);
    system.onUnexpectedExit = (name, code, signal) => {
      crashed = `${name} exited unexpectedly (code ${code}, signal ${signal})`;
      log(`[${configuration.name}] ${crashed}`);
    };
    for (const name of NAMES) {
      const pid = system.pid(name);
      if (pid === undefined) throw new Error(`no pid for ${name}`);
      pids.set(name, pid);
    }
    const urls = system.urls;
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
      for (const pid of pids.values()) peakRssPerLevel = resetPeakRss(pid) && peakRssPerLevel;
      const cpuBefore = perProcess((n) => cpuMsOf(pids.get(n)!));
      const selfBefore = process.cpuUsage();
      const machineBefore = machineCpu();
      const fromUs = Number(process.hrtime.bigint() / 1000n);
      log(`[${configuration.name}] ${concurrency} clients: up to ${settings.sagas} sagas or ${settings.maxSecondsPerLevel} s`);
      const r = await drive(concurrency, settings.sagas);
      const toUs = Number(process.hrtime.bigint() / 1000n);
      const machineAfter = machineCpu();
      const self = process.cpuUsage(selfBefore);
      if (crashed) break;
      const cpuAfter = perProcess((n) => cpuMsOf(pids.get(n)!));
      const peakRssMiB = perProcess((n) => round(peakRssKiBOf(pids.get(n)!) / 1024, 1));
      const outcome = levelOutcome(r, settings.sagas);
      const per = (ms: number): number => (outcome.finished > 0 ? round(ms / outcome.finished, 3) : Number.NaN);
      const cpu = perProcess((n) => round(cpuAfter[n] - cpuBefore[n], 0));
      const systemCpu = NAMES.reduce((s, n) => s + cpu[n], 0);
      const loadCpu = (self.user + self.system) / 1000;
      const level: LevelResult = {
        concurrency,
        ...outcome,
        cpuMs: { ...cpu, system: systemCpu, loadGenerator: round(loadCpu, 0) },
        cpuMsPerSaga: { ...perProcess((n) => per(cpu[n])), system: per(systemCpu), loadGenerator: per(loadCpu) },
        peakRssMiB,
        peakRssPerLevel,
        monotonicWindowUs: { fromUs, toUs },
        ...machineShares(machineBefore, machineAfter, systemCpu + loadCpu),
      };
      levels.push(level);
      log(
        `[${configuration.name}] ${concurrency} clients: ${level.sagasPerSecond} sagas/s, p50 ${level.latency.p50Ms} ms, ` +
          `p99 ${level.latency.p99Ms} ms, ${level.cpuMsPerSaga.system} CPU ms/saga, statuses ${JSON.stringify(r.statusCounts)}` +
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
    if (system) {
      log(`[${configuration.name}] stopping`);
      await system.stop();
      active.delete(system);
    }
    if (!configuration.inMemory) rmSync(dataDir, { recursive: true, force: true });
  }
  const profiles = profileDir ? nameProfiles(profileDir, pids) : undefined;
  return { configuration, dataDir, warmup, levels, invariants, voidReason, profiles };
}

/**
 * Renames node's `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile` files in `dir` to
 * `<process>.cpuprofile` (main thread) or `<process>.thread<n>.cpuprofile`.
 */
function nameProfiles(dir: string, pids: ReadonlyMap<ProcessName, number>): Partial<PerProcess<string>> {
  const byPid = new Map([...pids].map(([name, pid]) => [pid, name]));
  const out: Partial<PerProcess<string>> = {};
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
