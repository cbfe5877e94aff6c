import { parseArgs } from "node:util";

/** Which durable configuration(s) to measure; the ceiling run is chosen separately. */
export type DurabilityChoice = "process" | "power" | "both";

/** The options of `npm run bench`. */
export interface BenchOptions {
  /** Sagas per concurrency level (upper bound; the level also stops at `maxSecondsPerLevel`). */
  readonly sagas: number;
  readonly levels: readonly number[];
  /** Share of sagas that are made to fail, spread evenly over the four failing steps. */
  readonly failures: number;
  readonly durability: DurabilityChoice;
  /** Also run the ceiling configuration (`DATA_DIR=:memory:`, same processes, not durable). */
  readonly ceiling: boolean;
  /** Sagas run before the first level (at `warmupConcurrency` clients), not measured. */
  readonly warmup: number;
  readonly warmupConcurrency: number;
  /** Time bound of each level and of the warm-up, in seconds. */
  readonly maxSecondsPerLevel: number;
  /** The gateway's SAGA_WAIT_MS: how long POST /saga waits before answering 202. */
  readonly sagaWaitMs: number;
  /** Pass `--cpu-prof --cpu-prof-dir=<dir>` to the six processes. */
  readonly cpuProf: boolean;
  /** Where the results go (`<ISO date>-<durability>.{json,md}`), and profiles under it. */
  readonly resultsDir: string;
  /** Parent of each configuration's fresh temp data directory. */
  readonly dataParent: string | undefined;
  /** Also run the orchestrator's saga log on PostgreSQL (a database made for the run on the `DATABASE_URL` server). */
  readonly postgres: boolean;
  /** Orchestrator replica counts of the PostgreSQL configurations (one configuration each). */
  readonly orchestrators: readonly number[];
}

const USAGE = `usage: npm run bench -- [options]
  --sagas N              sagas per concurrency level (default 4000)
  --levels a,b,c         concurrency levels (default 1,16,64,256)
  --failures R           share of failing sagas, 0..1 (default 0.1)
  --durability D         process | power | both (default process)
  --ceiling yes|no       also run DATA_DIR=:memory: (default yes)
  --warmup N             warm-up sagas per configuration (default 3000: V8 needs thousands of
                         sagas before grpc-js and the engine run optimised code)
  --warmup-concurrency N clients during warm-up (default 64)
  --max-seconds S        time bound per level and for the warm-up (default 120)
  --saga-wait-ms MS      gateway SAGA_WAIT_MS (default 30000)
  --cpu-prof             profile the six processes (node --cpu-prof)
  --results-dir DIR      where results go (default bench/results)
  --data-dir-parent DIR  where temp data directories are made (default the OS temp dir)
  --postgres             also run the orchestrator's saga log on PostgreSQL, beside SQLite: the server
                         is DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres); the
                         bench creates a database per configuration and drops it after
  --orchestrators a,b,c  orchestrator replicas of the PostgreSQL configurations (default 1; needs
                         --postgres), one configuration per count, all on one saga log`;

/** Thrown for a bad command line; the message includes the usage text. */
export class UsageError extends Error {
  override name = "UsageError";
}

function positiveInteger(name: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < 1 || n > max)
    throw new UsageError(`--${name} ${JSON.stringify(raw)}: must be an integer from 1 to ${max}\n${USAGE}`);
  return n;
}

/**
 * Reads the command line of `bench/run.ts`.
 * @throws UsageError naming the bad option.
 */
export function parseBenchArgs(argv: readonly string[], defaultResultsDir: string): BenchOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      sagas: { type: "string", default: "4000" },
      levels: { type: "string", default: "1,16,64,256" },
      failures: { type: "string", default: "0.1" },
      durability: { type: "string", default: "process" },
      ceiling: { type: "string", default: "yes" },
      warmup: { type: "string", default: "3000" },
      "warmup-concurrency": { type: "string", default: "64" },
      "max-seconds": { type: "string", default: "120" },
      "saga-wait-ms": { type: "string", default: "30000" },
      "cpu-prof": { type: "boolean", default: false },
      "results-dir": { type: "string", default: defaultResultsDir },
      "data-dir-parent": { type: "string" },
      postgres: { type: "boolean", default: false },
      orchestrators: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  const levels = values.levels.split(",").map((s) => positiveInteger("levels", s, 4096));
  const failures = Number(values.failures);
  if (values.failures.trim() === "" || !Number.isFinite(failures) || failures < 0 || failures > 1) {
    throw new UsageError(`--failures ${JSON.stringify(values.failures)}: must be a number from 0 to 1\n${USAGE}`);
  }
  if (!["process", "power", "both"].includes(values.durability)) {
    throw new UsageError(`--durability ${JSON.stringify(values.durability)}: must be process, power or both\n${USAGE}`);
  }
  if (!["yes", "no"].includes(values.ceiling)) throw new UsageError(`--ceiling ${JSON.stringify(values.ceiling)}: must be yes or no\n${USAGE}`);
  const warmup = values.warmup === "0" ? 0 : positiveInteger("warmup", values.warmup, 1_000_000);
  const sagaWaitMs = positiveInteger("saga-wait-ms", values["saga-wait-ms"], 60_000);
  if (values.orchestrators !== undefined && !values.postgres) {
    throw new UsageError(`--orchestrators needs --postgres: replicas share one saga log on PostgreSQL (SQLite runs one orchestrator)\n${USAGE}`);
  }
  const orchestrators = [...new Set((values.orchestrators ?? "1").split(",").map((s) => positiveInteger("orchestrators", s, 16)))];
  return {
    sagas: positiveInteger("sagas", values.sagas, 10_000_000),
    levels,
    failures,
    durability: values.durability as DurabilityChoice,
    ceiling: values.ceiling === "yes",
    warmup,
    warmupConcurrency: positiveInteger("warmup-concurrency", values["warmup-concurrency"], 4096),
    maxSecondsPerLevel: positiveInteger("max-seconds", values["max-seconds"], 3600),
    sagaWaitMs,
    cpuProf: values["cpu-prof"],
    resultsDir: values["results-dir"],
    dataParent: values["data-dir-parent"],
    postgres: values.postgres,
    orchestrators,
  };
}

export { USAGE };
