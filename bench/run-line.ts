/**
 * The machine-readable end of `npm run bench`: one JSON line per configuration run, with the
 * commit measured, every level's figures and the CPU each kind of process spent per saga, so a
 * script can read a run without parsing tables.
 */
import { PROCESSES } from "../system/processes.js";
import type { ConfigurationResult } from "./run-configuration.js";
import type { SourceState } from "./source-state.js";

/** One level of one configuration. */
export interface RunLineLevel {
  readonly clients: number;
  readonly sagas: number;
  readonly sagasPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU ms per answered saga of each kind of process (all replicas of the orchestrator together), `total` the six together. */
  readonly cpuMsPerSaga: Readonly<Record<string, number | null>>;
  /** With several orchestrators: each replica's share. */
  readonly orchestratorReplicasCpuMsPerSaga?: readonly number[];
  /** With the saga log on PostgreSQL: the whole server's CPU per saga, and the bench database's backends' (null when unreadable). */
  readonly postgresCpuMsPerSaga?: { readonly server: number | null; readonly backends: number | null };
  /** Busy time of the machine used by none of the measured processes, % (noise). */
  readonly othersPct: number;
}

/** The JSON line of one configuration. */
export interface RunLine {
  readonly bench: "tp-saga";
  readonly configuration: string;
  /** The commit the processes ran, and whether files outside bench/ differed from it (the processes ran those changes). */
  readonly commit: string | null;
  readonly dirty: boolean | null;
  readonly durability: "process" | "power";
  /** Where the orchestrator's saga log was: "sqlite", "postgres", or "memory" (the ceiling). */
  readonly sagaLog: "sqlite" | "postgres" | "memory";
  readonly orchestrators: number;
  readonly levels: readonly RunLineLevel[];
  readonly violations: number | null;
  /** Why the run does not count, or null. */
  readonly void: string | null;
}

const NAMES = PROCESSES.map((p) => p.name);
/** JSON has no NaN: a figure that could not be measured is null. */
const num = (n: number): number | null => (Number.isFinite(n) ? n : null);

/** The line of configuration `c`, measured on `source`. */
export function runLine(c: ConfigurationResult, source: SourceState | undefined): RunLine {
  const cfg = c.configuration;
  return {
    bench: "tp-saga",
    configuration: cfg.name,
    commit: source?.commit ?? null,
    dirty: source ? source.uncommitted.length > 0 : null,
    durability: cfg.durability,
    sagaLog: cfg.inMemory ? "memory" : (cfg.sagaLog ?? "sqlite"),
    orchestrators: cfg.orchestrators ?? 1,
    levels: c.levels.map((l) => ({
      clients: l.concurrency,
      sagas: l.finished,
      sagasPerSecond: l.sagasPerSecond,
      p50Ms: l.latency.p50Ms,
      p99Ms: l.latency.p99Ms,
      cpuMsPerSaga: {
        ...Object.fromEntries(NAMES.map((n) => [n, num(l.cpuMsPerSaga[n])])),
        total: num(l.cpuMsPerSaga.system),
        loadGenerator: num(l.cpuMsPerSaga.loadGenerator),
      },
      ...(l.orchestratorReplicasCpuMsPerSaga ? { orchestratorReplicasCpuMsPerSaga: l.orchestratorReplicasCpuMsPerSaga } : {}),
      ...(l.postgres ? { postgresCpuMsPerSaga: { server: num(l.postgres.serverMsPerSaga), backends: num(l.postgres.backendsMsPerSaga) } } : {}),
      othersPct: l.machineOtherPct,
    })),
    violations: c.invariants?.violationCount ?? null,
    void: c.voidReason ?? null,
  };
}
