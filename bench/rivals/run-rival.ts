/**
 * Measures one rival engine the way bench/run-configuration.ts measures TP-SAGA: TP-SAGA's four
 * services on a fresh temp data directory, the engine started beside them, a warm-up, then each
 * concurrency level through the same load generator (`runLoad`) and order mix (`sagaMix`), CPU
 * of every process from /proc, and at the end TP-SAGA's invariants over the services' state
 * and the sagas the engine answered.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAMES } from "../../system/processes.js";
import { startSystem, type RunningSystem } from "../../system/start-system.js";
import { checkInvariants, takeSnapshot } from "../../system/invariants.js";
import { runLoad, type LoadResult } from "../load.js";
import { levelOutcome, machineShares, round, type LoadPlan } from "../level-outcome.js";
import { cpuMsOf, machineCpu } from "../process-stats.js";
import { sagaMix } from "../saga-mix.js";
import type { CpuPerSaga, EngineLevel, EngineResult } from "./engine-result.js";
import { startLedgerOrchestrator } from "./ledger-orchestrator.js";
import type { EngineStartOptions, RivalEngine } from "./rival-engine.js";

export interface RivalSettings extends LoadPlan {
  /** Deadline of one request, in ms. */
  readonly requestTimeoutMs: number;
  /** DURABILITY of the four services. */
  readonly servicesDurability: "process" | "power";
  readonly dataParent: string;
  readonly log: (line: string) => void;
}

type PidGroups = Readonly<Record<string, readonly number[]>>;

/** CPU ms of each pid now; a pid that is gone is left out. */
function cpuOfPids(groups: PidGroups): Map<number, number> {
  const out = new Map<number, number>();
  for (const pids of Object.values(groups)) {
    for (const pid of pids) {
      try {
        out.set(pid, cpuMsOf(pid));
      } catch {
        /* exited */
      }
    }
  }
  return out;
}

/** CPU ms spent per group between two readings; a pid born during the level counts from 0. */
function cpuDelta(groups: PidGroups, before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [group, pids] of Object.entries(groups)) {
    out[group] = pids.reduce((sum, pid) => sum + (after.has(pid) ? after.get(pid)! - (before.get(pid) ?? 0) : 0), 0);
  }
  return out;
}

const merge = (a: PidGroups, b: PidGroups): PidGroups => {
  const out: Record<string, number[]> = {};
  for (const g of [a, b]) for (const [k, v] of Object.entries(g)) out[k] = [...new Set([...(out[k] ?? []), ...v])];
  return out;
};

/** Runs one rival engine from start to invariants; never throws (a failure makes the result void). */
export async function runRival(
  start: (options: EngineStartOptions) => Promise<RivalEngine>,
  who: { readonly label: string; readonly engineName: string; readonly tuning: "defaults" | "tuned" },
  settings: RivalSettings,
): Promise<EngineResult> {
  const { label } = who;
  const { log } = settings;
  const dataDir = mkdtempSync(join(settings.dataParent, `tp-saga-rivals-${who.engineName}-${who.tuning}-services-`));
  const levels: EngineLevel[] = [];
  let warmup: EngineResult["warmup"];
  let invariants: EngineResult["invariants"];
  let voidReason: string | undefined;
  let crashed: string | undefined;
  let system: RunningSystem | undefined;
  let engine: RivalEngine | undefined;
  let versions: Record<string, string> = {};
  let durability: readonly string[] = [];
  let engineSettings: readonly string[] = [];
  try {
    log(`[${label}] starting the four services (DATA_DIR=${dataDir}, DURABILITY=${settings.servicesDurability})`);
    system = await startSystem({
      dataDir,
      only: SERVICE_NAMES,
      ports: { catalog: 0, payments: 0, purchases: 0, inventory: 0 },
      env: { DURABILITY: settings.servicesDurability, LOG_LEVEL: "warn" },
      onLine: (name, line) => log(`  [${label}/${name}] ${line}`),
      readyTimeoutMs: 60_000,
    });
    system.onUnexpectedExit = (name, code, signal) => {
      crashed = `${name} exited unexpectedly (code ${code}, signal ${signal})`;
      log(`[${label}] ${crashed}`);
    };
    const urls = system.urls;
    const services = { catalog: urls.catalog, payments: urls.payments, purchases: urls.purchases, inventory: urls.inventory };
    const servicePids: PidGroups = Object.fromEntries(SERVICE_NAMES.map((n) => [n, [system!.pid(n)!]]));
    const initial = await takeSnapshot(urls);
    engine = await start({ services, dataParent: settings.dataParent, log });
    versions = { ...engine.versions };
    durability = engine.durability;
    engineSettings = engine.settings;
    const loadUrl = engine.loadUrl;
    const mix = sagaMix(settings.failures);
    let sagaIndex = 0;
    const drive = (concurrency: number, count: number): Promise<LoadResult> => {
      const first = sagaIndex;
      sagaIndex += count;
      return runLoad({
        url: loadUrl,
        concurrency,
        count,
        maxMs: settings.maxSecondsPerLevel * 1000,
        requestTimeoutMs: settings.requestTimeoutMs,
        body: (i) => mix(first + i).body,
      });
    };
    const broken = (): string | undefined => crashed ?? engine?.failure();

    if (settings.warmup > 0) {
      log(`[${label}] warm-up: ${settings.warmup} sagas at ${settings.warmupConcurrency} clients`);
      const w = await drive(settings.warmupConcurrency, settings.warmup);
      warmup = { sagas: w.answered, elapsedMs: round(w.elapsedMs), statusCounts: w.statusCounts, errors: w.errors };
      log(`[${label}] warm-up done in ${round(w.elapsedMs / 1000, 1)} s: ${JSON.stringify(w.statusCounts)} ${JSON.stringify(w.errors)}`);
    }

    for (const concurrency of settings.levels) {
      if (broken()) break;
      const groupsBefore = merge(servicePids, await engine.enginePids());
      const sharedBefore = await engine.sharedPids();
      const before = cpuOfPids(merge(groupsBefore, sharedBefore));
      const selfBefore = process.cpuUsage();
      const machineBefore = machineCpu();
      log(`[${label}] ${concurrency} clients: up to ${settings.sagas} sagas or ${settings.maxSecondsPerLevel} s`);
      const r = await drive(concurrency, settings.sagas);
      const machineAfter = machineCpu();
      const self = process.cpuUsage(selfBefore);
      const engineGroups = merge(groupsBefore, await engine.enginePids());
      const sharedGroups = merge(sharedBefore, await engine.sharedPids());
      const after = cpuOfPids(merge(engineGroups, sharedGroups));
      if (broken()) break;
      const cpu = cpuDelta(engineGroups, before, after);
      const sharedCpu = cpuDelta(sharedGroups, before, after);
      const outcome = levelOutcome(r, settings.sagas);
      const per = (ms: number): number => (outcome.finished > 0 ? round(ms / outcome.finished, 3) : Number.NaN);
      const serviceMs = SERVICE_NAMES.reduce((s, n) => s + (cpu[n] ?? 0), 0);
      const engineMs = Object.entries(cpu).reduce((s, [k, v]) => s + ((SERVICE_NAMES as readonly string[]).includes(k) ? 0 : v), 0);
      const sharedMs = Object.values(sharedCpu).reduce((s, v) => s + v, 0);
      const loadMs = (self.user + self.system) / 1000;
      const cpuMsPerSaga: CpuPerSaga = {
        engine: per(engineMs),
        services: per(serviceMs),
        shared: per(sharedMs),
        loadGenerator: per(loadMs),
        byProcess: Object.fromEntries([...Object.entries(cpu), ...Object.entries(sharedCpu)].map(([k, v]) => [k, per(v)])),
      };
      const level: EngineLevel = {
        concurrency,
        ...outcome,
        cpuMsPerSaga,
        ...machineShares(machineBefore, machineAfter, engineMs + serviceMs + sharedMs + loadMs),
      };
      levels.push(level);
      log(
        `[${label}] ${concurrency} clients: ${level.sagasPerSecond} sagas/s, p50 ${level.latency.p50Ms} ms, p99 ${level.latency.p99Ms} ms, ` +
          `engine ${cpuMsPerSaga.engine} + services ${cpuMsPerSaga.services} CPU ms/saga, statuses ${JSON.stringify(r.statusCounts)}` +
          (Object.keys(r.errors).length ? `, errors ${JSON.stringify(r.errors)}` : "") +
          (r.timeBound ? ` (time bound hit after ${r.sent} of ${settings.sagas})` : ""),
      );
    }

    const failure = broken();
    if (failure) {
      voidReason = failure;
    } else {
      log(`[${label}] checking invariants`);
      const outcomes = await engine.outcomes();
      const ledger = await startLedgerOrchestrator(outcomes);
      try {
        const report = await checkInvariants(
          { orchestrator: ledger.url, payments: urls.payments, purchases: urls.purchases, inventory: urls.inventory },
          initial,
        );
        invariants = {
          sagas: report.sagas,
          byStatus: report.byStatus,
          violationCount: report.violations.length,
          violations: report.violations.slice(0, 50),
        };
        if (report.violations.length > 0) voidReason = `${report.violations.length} invariant violation(s)`;
        log(`[${label}] invariants: ${report.sagas} sagas ${JSON.stringify(report.byStatus)}, ${report.violations.length} violation(s)`);
      } finally {
        await ledger.close();
      }
    }
  } catch (err) {
    voidReason = `${crashed ? `${crashed}; ` : ""}${(err as Error).message}`;
    log(`[${label}] failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    log(`[${label}] stopping`);
    await engine?.stop().catch((err: unknown) => log(`[${label}] stopping the engine: ${String(err)}`));
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return {
    engine: label,
    engineName: who.engineName,
    tuning: who.tuning,
    // Both rivals make a step durable with an fsync (Restate's log, PostgreSQL's WAL) before going on: TP-SAGA's `power`.
    durabilityLevel: "power",
    versions,
    durability,
    settings: engineSettings,
    servicesDurability: settings.servicesDurability,
    warmup,
    levels,
    invariants,
    voidReason,
  };
}
