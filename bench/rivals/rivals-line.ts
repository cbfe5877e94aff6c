/**
 * The machine-readable end of `npm run bench:rivals`: one JSON line with the commit measured and,
 * for each engine run (engine, its tuning, its durability), every level's sagas/s, p50, p99 and
 * CPU ms per saga.
 */
import type { EngineResult } from "./engine-result.js";

export interface RivalsLineLevel {
  readonly clients: number;
  readonly sagas: number;
  readonly sagasPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** engine: the engine's processes; services: TP-SAGA's four; total: both (PostgreSQL's shared processes and the load generator apart). */
  readonly cpuMsPerSaga: {
    readonly engine: number | null;
    readonly services: number | null;
    readonly total: number | null;
    readonly pgShared: number | null;
    readonly loadGenerator: number | null;
  };
  readonly othersPct: number;
}

export interface RivalsLineEngine {
  /** The label of the tables, e.g. "restate tuned (2 partitions, --max-semi-space-size=32)". */
  readonly run: string;
  readonly engine: string;
  readonly tuning: "defaults" | "tuned" | "own";
  /** What an answered saga survives: "process" (kill -9) or "power" (a power loss). */
  readonly durability: "process" | "power";
  readonly servicesDurability: string;
  readonly settings: readonly string[];
  readonly levels: readonly RivalsLineLevel[];
  readonly violations: number | null;
  readonly void: string | null;
}

export interface RivalsLine {
  readonly bench: "rivals";
  readonly commit: string | null;
  /** Whether tracked files differed from the commit (the run then measured code that no commit holds). */
  readonly dirty: boolean | null;
  readonly engines: readonly RivalsLineEngine[];
}

const num = (n: number): number | null => (Number.isFinite(n) ? n : null);

/** The line of a whole rivals run. */
export function rivalsLine(results: readonly EngineResult[], source: { commit: string; dirty: boolean } | undefined): RivalsLine {
  return {
    bench: "rivals",
    commit: source?.commit ?? null,
    dirty: source?.dirty ?? null,
    engines: results.map((r) => ({
      run: r.engine,
      engine: r.engineName,
      tuning: r.tuning,
      durability: r.durabilityLevel,
      servicesDurability: r.servicesDurability,
      settings: r.settings,
      levels: r.levels.map((l) => ({
        clients: l.concurrency,
        sagas: l.finished,
        sagasPerSecond: l.sagasPerSecond,
        p50Ms: l.latency.p50Ms,
        p99Ms: l.latency.p99Ms,
        cpuMsPerSaga: {
          engine: num(l.cpuMsPerSaga.engine),
          services: num(l.cpuMsPerSaga.services),
          total: num(Number((l.cpuMsPerSaga.engine + l.cpuMsPerSaga.services).toFixed(3))),
          pgShared: num(l.cpuMsPerSaga.shared),
          loadGenerator: num(l.cpuMsPerSaga.loadGenerator),
        },
        othersPct: l.machineOtherPct,
      })),
      violations: r.invariants?.violationCount ?? null,
      void: r.voidReason ?? null,
    })),
  };
}
