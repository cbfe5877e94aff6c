import { parseArgs } from "node:util";
import type { LoadPlan } from "../level-outcome.js";
import { TUNINGS, type Tuning } from "./rival-tuning.js";

/** The engines the rivals benchmark can run, in the order it runs them. */
export const ENGINES = ["tp-saga", "restate", "dbos"] as const;
export type EngineName = (typeof ENGINES)[number];

/** The options of `npm run bench:rivals`. */
export interface RivalOptions extends LoadPlan {
  readonly engines: readonly EngineName[];
  /** TP-SAGA's durability settings to measure (each a configuration of its own). */
  readonly tpSagaDurability: readonly ("process" | "power")[];
  /** DURABILITY of the four services under Restate and DBOS. */
  readonly servicesDurability: "process" | "power";
  readonly requestTimeoutMs: number;
  readonly resultsDir: string;
  readonly dataParent: string | undefined;
  /** The rivals' settings to measure: as installed, as tuned for this machine, or both (each a run of its own). */
  readonly tunings: readonly Tuning[];
  /** restate-server's `default-num-partitions` when tuned, or undefined for the machine's core count. */
  readonly restatePartitions: number | undefined;
  /** DBOS's system-database pool when tuned, or undefined for 64. */
  readonly dbosPool: number | undefined;
  /** First of restate-server's three ports (ingress, admin, node: base, base + 1, base + 2), or undefined for its own (8080, 9070, 5122). */
  readonly restatePortBase: number | undefined;
  /** Run on a tree with uncommitted changes (the run is then marked dirty). */
  readonly allowDirty: boolean;
}

export const USAGE = `usage: npm --prefix bench/rivals run bench -- [options]   (or: npm run bench:rivals -- [options])
  --engines a,b,c          tp-saga,restate,dbos (default all three)
  --tp-saga-durability D   process | power | both (default both)
  --services-durability D  DURABILITY of the four services under Restate and DBOS: process | power
                           (default power: both rivals fsync every step by default)
  --sagas N                sagas per concurrency level (default 2000)
  --levels a,b,c           concurrency levels (default 1,16,64)
  --failures R             share of failing sagas, 0..1 (default 0.1)
  --warmup N               warm-up sagas per engine (default 3000)
  --warmup-concurrency N   clients during warm-up (default 64)
  --max-seconds S          time bound per level and for the warm-up (default 120)
  --request-timeout-ms MS  a request unanswered this long is an error (default 30000; TP-SAGA's SAGA_WAIT_MS)
  --results-dir DIR        where results go (default bench/results)
  --data-dir-parent DIR    where temp data directories are made (default the OS temp dir)
  --tuning T               the rivals as installed (defaults), as tuned for this machine (tuned), or
                           both, one run each (default both). Tuned: Restate with as many partitions as
                           cores (its default is 24), DBOS with a pool sized for 64 clients (its default
                           is 10), and both rivals' Node processes with TP-SAGA's V8 flags
  --restate-partitions N   restate-server's default-num-partitions when tuned (default: the core count)
  --dbos-pool N            DBOS's system-database pool when tuned (default 64)
  --restate-port-base P    restate-server's ingress, admin and node ports are P, P+1, P+2 (default its
                           own: 8080, 9070, 5122)
  --allow-dirty            run on a tree with uncommitted changes (refused otherwise: the figures would
                           not belong to any commit); the JSON line then says dirty: true`;

export class UsageError extends Error {
  override name = "UsageError";
}

function integer(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max)
    throw new UsageError(`--${name} ${JSON.stringify(raw)}: must be an integer from ${min} to ${max}\n${USAGE}`);
  return n;
}

/**
 * Reads the command line of `bench/rivals/run.ts`.
 * @throws UsageError naming the bad option.
 */
export function parseRivalArgs(argv: readonly string[], defaultResultsDir: string): RivalOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      engines: { type: "string", default: ENGINES.join(",") },
      "tp-saga-durability": { type: "string", default: "both" },
      "services-durability": { type: "string", default: "power" },
      sagas: { type: "string", default: "2000" },
      levels: { type: "string", default: "1,16,64" },
      failures: { type: "string", default: "0.1" },
      warmup: { type: "string", default: "3000" },
      "warmup-concurrency": { type: "string", default: "64" },
      "max-seconds": { type: "string", default: "120" },
      "request-timeout-ms": { type: "string", default: "30000" },
      "results-dir": { type: "string", default: defaultResultsDir },
      "data-dir-parent": { type: "string" },
      "restate-partitions": { type: "string" },
      tuning: { type: "string", default: "both" },
      "dbos-pool": { type: "string" },
      "restate-port-base": { type: "string" },
      "allow-dirty": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const engines = values.engines.split(",").map((e) => e.trim());
  for (const e of engines)
    if (!(ENGINES as readonly string[]).includes(e)) throw new UsageError(`--engines: unknown engine ${JSON.stringify(e)}\n${USAGE}`);
  const tp = values["tp-saga-durability"];
  if (!["process", "power", "both"].includes(tp)) throw new UsageError(`--tp-saga-durability ${JSON.stringify(tp)}\n${USAGE}`);
  const sd = values["services-durability"];
  if (sd !== "process" && sd !== "power") throw new UsageError(`--services-durability ${JSON.stringify(sd)}\n${USAGE}`);
  const tuning = values.tuning;
  if (tuning !== "both" && !(TUNINGS as readonly string[]).includes(tuning)) {
    throw new UsageError(`--tuning ${JSON.stringify(tuning)}: must be defaults, tuned or both\n${USAGE}`);
  }
  const failures = Number(values.failures);
  if (!(failures >= 0 && failures <= 1)) throw new UsageError(`--failures ${JSON.stringify(values.failures)}: must be in [0, 1]\n${USAGE}`);
  return {
    engines: ENGINES.filter((e) => engines.includes(e)),
    tpSagaDurability: tp === "both" ? ["process", "power"] : [tp as "process" | "power"],
    servicesDurability: sd,
    sagas: integer("sagas", values.sagas, 1, 10_000_000),
    levels: values.levels.split(",").map((l) => integer("levels", l, 1, 4096)),
    failures,
    warmup: integer("warmup", values.warmup, 0, 10_000_000),
    warmupConcurrency: integer("warmup-concurrency", values["warmup-concurrency"], 1, 4096),
    maxSecondsPerLevel: integer("max-seconds", values["max-seconds"], 1, 3600),
    requestTimeoutMs: integer("request-timeout-ms", values["request-timeout-ms"], 1, 600_000),
    resultsDir: values["results-dir"],
    dataParent: values["data-dir-parent"],
    tunings: tuning === "both" ? TUNINGS : [tuning as Tuning],
    restatePartitions:
      values["restate-partitions"] === undefined ? undefined : integer("restate-partitions", values["restate-partitions"], 1, 65_535),
    dbosPool: values["dbos-pool"] === undefined ? undefined : integer("dbos-pool", values["dbos-pool"], 1, 1_000),
    restatePortBase: values["restate-port-base"] === undefined ? undefined : integer("restate-port-base", values["restate-port-base"], 1024, 65_533),
    allowDirty: values["allow-dirty"],
  };
}
