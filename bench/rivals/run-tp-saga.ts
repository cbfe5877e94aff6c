/**
 * TP-SAGA itself in the side-by-side run: exactly `npm run bench`'s `runConfiguration` (six
 * processes, same warm-up, same levels, same load generator, its own invariant check), its
 * figures regrouped as the rivals' are: engine = orchestrator + gateway, services = the four.
 */
import { readFileSync } from "node:fs";
import { runConfiguration, type RunSettings } from "../run-configuration.js";
import { NODE_FLAGS, SERVICE_NAMES } from "../../system/processes.js";
import type { EngineLevel, EngineResult } from "./engine-result.js";
import type { RivalSettings } from "./run-rival.js";

const ROOT_PACKAGE = new URL("../../package.json", import.meta.url);

/** Runs TP-SAGA at `durability` with the rivals' settings. */
export async function runTpSaga(durability: "process" | "power", settings: RivalSettings): Promise<EngineResult> {
  const runSettings: RunSettings = {
    sagas: settings.sagas,
    levels: settings.levels,
    failures: settings.failures,
    warmup: settings.warmup,
    warmupConcurrency: settings.warmupConcurrency,
    maxSecondsPerLevel: settings.maxSecondsPerLevel,
    sagaWaitMs: settings.requestTimeoutMs,
    cpuProfDir: undefined,
    dataParent: settings.dataParent,
    log: settings.log,
  };
  const r = await runConfiguration({ name: durability, durability, inMemory: false }, runSettings);
  const pkg = JSON.parse(readFileSync(ROOT_PACKAGE, "utf8")) as { version: string; dependencies: Record<string, string> };
  const levels: EngineLevel[] = r.levels.map((l) => {
    const c = l.cpuMsPerSaga;
    const services = SERVICE_NAMES.reduce((s, n) => s + c[n], 0);
    return {
      concurrency: l.concurrency,
      requested: l.requested,
      sent: l.sent,
      finished: l.finished,
      elapsedMs: l.elapsedMs,
      sagasPerSecond: l.sagasPerSecond,
      latency: l.latency,
      statusCounts: l.statusCounts,
      errors: l.errors,
      timeBound: l.timeBound,
      cpuMsPerSaga: {
        engine: Number((c.orchestrator + c.gateway).toFixed(3)),
        services: Number(services.toFixed(3)),
        shared: 0,
        loadGenerator: c.loadGenerator,
        byProcess: { orchestrator: c.orchestrator, gateway: c.gateway, ...Object.fromEntries(SERVICE_NAMES.map((n) => [n, c[n]])) },
      },
      machineBusyPct: l.machineBusyPct,
      machineIowaitPct: l.machineIowaitPct,
      machineOtherPct: l.machineOtherPct,
    };
  });
  return {
    engine: `tp-saga (${durability})`,
    engineName: "tp-saga",
    tuning: "own",
    durabilityLevel: durability,
    settings: [`node flags ${NODE_FLAGS.join(" ")} on its six processes (as npm start runs them), compiled JavaScript`],
    versions: {
      "tp-saga": pkg.version,
      "@grpc/grpc-js": pkg.dependencies["@grpc/grpc-js"] ?? "?",
      "better-sqlite3": pkg.dependencies["better-sqlite3"] ?? "?",
    },
    durability: [
      durability === "process"
        ? "DURABILITY=process: SQLite WAL, synchronous=NORMAL, group commit — survives kill -9 of any process, not power loss"
        : "DURABILITY=power: SQLite WAL, group commit, fdatasync off the event loop — nothing is answered before its sync (power-loss safe)",
    ],
    servicesDurability: durability,
    warmup: r.warmup,
    levels,
    invariants: r.invariants,
    voidReason: r.voidReason,
  };
}
