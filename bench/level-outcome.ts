import type { LoadResult } from "./load.js";
import { summarize, type LatencySummary } from "./percentiles.js";
import type { MachineCpu } from "./process-stats.js";

/** How much load a benchmark drives, the same for `npm run bench` and `bench:rivals`. */
export interface LoadPlan {
  /** Sagas per concurrency level (at most). */
  readonly sagas: number;
  readonly levels: readonly number[];
  /** Share of failing sagas in the mix, 0..1. */
  readonly failures: number;
  /** Warm-up sagas, and clients during the warm-up. */
  readonly warmup: number;
  readonly warmupConcurrency: number;
  /** Time bound of each level and of the warm-up, in s. */
  readonly maxSecondsPerLevel: number;
}

/** Rounds for reports: 2 digits unless told. */
export const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

/** What the load of one level did, as both `npm run bench` and `bench:rivals` report it. */
export interface LevelOutcome {
  /** Sagas asked for, requests sent, and sagas answered with an outcome (200 or 409). */
  readonly requested: number;
  readonly sent: number;
  readonly finished: number;
  readonly elapsedMs: number;
  /** Finished sagas (200 + 409) per second of the level. */
  readonly sagasPerSecond: number;
  /** Latency of every answered request. */
  readonly latency: LatencySummary;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  readonly timeBound: boolean;
}

/** The outcome of one level's load; `requested` is how many sagas the level asked for. */
export function levelOutcome(r: LoadResult, requested: number): LevelOutcome {
  const finished = (r.statusCounts["200"] ?? 0) + (r.statusCounts["409"] ?? 0);
  const latency = summarize(r.latenciesMs);
  return {
    requested,
    sent: r.sent,
    finished,
    elapsedMs: round(r.elapsedMs, 1),
    sagasPerSecond: round(finished / (r.elapsedMs / 1000), 1),
    latency: {
      count: latency.count,
      meanMs: round(latency.meanMs),
      p50Ms: round(latency.p50Ms),
      p95Ms: round(latency.p95Ms),
      p99Ms: round(latency.p99Ms),
      maxMs: round(latency.maxMs),
    },
    statusCounts: r.statusCounts,
    errors: r.errors,
    timeBound: r.timeBound,
  };
}

/** The whole machine during a level (all cores, /proc/stat), in %. */
export interface MachineShares {
  readonly machineBusyPct: number;
  readonly machineIowaitPct: number;
  /** Busy time used by none of the measured processes: other work that skewed the level. */
  readonly machineOtherPct: number;
}

/** Machine shares between two readings; `measuredCpuMs` is the CPU of every process the run accounts for. */
export function machineShares(before: MachineCpu, after: MachineCpu, measuredCpuMs: number): MachineShares {
  const total = after.totalMs - before.totalMs;
  const busy = after.busyMs - before.busyMs;
  if (total <= 0) return { machineBusyPct: Number.NaN, machineIowaitPct: Number.NaN, machineOtherPct: Number.NaN };
  return {
    machineBusyPct: round((100 * busy) / total, 1),
    machineIowaitPct: round((100 * (after.iowaitMs - before.iowaitMs)) / total, 1),
    machineOtherPct: round(Math.max(0, (100 * (busy - measuredCpuMs)) / total), 1),
  };
}
