/**
 * The chaos run from the command line:
 *
 *   node --import tsx chaos/main.ts --sagas 300 --concurrency 16 --seed 1 --duration 45
 *
 *   node --import tsx chaos/main.ts --postgres --orchestrators 3 --sagas 3000 --concurrency 32 --duration 5m
 *
 * `--postgres`: the saga log (and each service's store, where a service keeps it there) on
 * PostgreSQL, in databases the run creates on TEST_POSTGRES_URL's server (default the local
 * one as user postgres; `--postgres-url` names another) and drops after a clean run.
 * `--orchestrators N`: N orchestrator replicas on that log, each killed like the other processes.
 * `--duration` is in seconds (or with a unit: 45s, 2m, 500ms). Prints progress, the summary
 * as a table and, last, the summary as one JSON line. Exit code 1 on any invariant violation,
 * lost saga, more unacknowledged sagas than `--max-unacknowledged` (default 0) or a run that
 * reached its bound; 2 on bad arguments. Every run is bounded: at most MAX_SAGAS sagas and
 * MAX_DURATION_MS of chaos, and the whole run ends by `--run-bound` (default: duration plus
 * twice the quiescence bound plus 3 min).
 */
import { parseArgs } from "node:util";
import { SERVICE_NAMES } from "../system/processes.js";
import { chaosFailed, formatSummary, runChaos } from "./chaos.js";
import { FAULT_KINDS } from "./fault-proxy.js";
import { DURABILITIES, type Durability } from "#platform/sqlite.js";
import { testPostgresAdminUrl } from "#platform/postgres-test-database.js";

/** Count bound of one run: more sagas than this is refused. */
const MAX_SAGAS = 200_000;
/** Time bound of one run's chaos phase. */
const MAX_DURATION_MS = 2 * 60 * 60_000;
/** Bound on clients at once. */
const MAX_CONCURRENCY = 1_024;

const usage =
  "usage: chaos/main.ts [--sagas N] [--concurrency N] [--seed N] [--duration 45s] [--durability process|power] [--quiescence 90s] [--run-bound DURATION] [--max-unacknowledged N]\n       [--data-dir DIR] [--keep-data] [--failure-rate 0.05] [--max-in-flight N] [--kills N]\n       [--step-attempts N] [--saga-deadline-ms N] [--fault-intensity X] [--twin-chance P]\n       [--window-kinds drop,delay,lostReply,lateRequest] [--window-services catalog,payments,purchases,inventory]\n       [--postgres [--postgres-url URL]] [--orchestrators N]";

function duration(name: string, s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) throw new Error(`--${name}: ${JSON.stringify(s)} is not a duration (45, 45s, 2m, 500ms)`);
  const n = Number(m[1]);
  return Math.round(m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1_000);
}

function positiveInt(name: string, s: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name}: must be an integer in 1..${max}, got ${JSON.stringify(s)}`);
  return n;
}

function boundedDuration(name: string, s: string, maxMs: number): number {
  const ms = duration(name, s);
  if (ms < 1 || ms > maxMs) throw new Error(`--${name}: must be between 1 ms and ${maxMs / 60_000} min, got ${JSON.stringify(s)}`);
  return ms;
}

function listOf<T extends string>(name: string, s: string, allowed: readonly T[]): T[] {
  const items = s.split(",").map((x) => x.trim());
  for (const x of items) if (!allowed.includes(x as T)) throw new Error(`--${name}: ${JSON.stringify(x)} is not one of ${allowed.join(", ")}`);
  return items as T[];
}

let options;
try {
  const { values } = parseArgs({
    options: {
      sagas: { type: "string", default: "300" },
      concurrency: { type: "string", default: "16" },
      seed: { type: "string", default: "1" },
      duration: { type: "string", default: "45s" },
      durability: { type: "string", default: "process" },
      quiescence: { type: "string" },
      "run-bound": { type: "string" },
      "max-unacknowledged": { type: "string", default: "0" },
      "data-dir": { type: "string" },
      "keep-data": { type: "boolean", default: false },
      "failure-rate": { type: "string", default: "0.05" },
      "max-in-flight": { type: "string" },
      kills: { type: "string" },
      "step-attempts": { type: "string" },
      "saga-deadline-ms": { type: "string" },
      "fault-intensity": { type: "string" },
      "twin-chance": { type: "string" },
      "window-kinds": { type: "string" },
      "window-services": { type: "string" },
      postgres: { type: "boolean", default: false },
      "postgres-url": { type: "string" },
      orchestrators: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const rate = Number(values["failure-rate"]);
  if (!(rate >= 0 && rate <= 1)) throw new Error(`--failure-rate: must be in [0, 1]`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: must be a non-negative integer`);
  if (!(DURABILITIES as readonly string[]).includes(values.durability))
    throw new Error(`--durability: one of ${DURABILITIES.join(", ")}, got ${JSON.stringify(values.durability)}`);
  const maxUnacknowledged = Number(values["max-unacknowledged"]);
  if (!Number.isInteger(maxUnacknowledged) || maxUnacknowledged < 0) throw new Error(`--max-unacknowledged: must be a non-negative integer`);
  options = {
    sagas: positiveInt("sagas", values.sagas, MAX_SAGAS),
    concurrency: positiveInt("concurrency", values.concurrency, MAX_CONCURRENCY),
    seed,
    durationMs: boundedDuration("duration", values.duration, MAX_DURATION_MS),
    durability: values.durability as Durability,
    maxUnacknowledged,
    ...(values.quiescence ? { quiescenceMs: boundedDuration("quiescence", values.quiescence, 30 * 60_000) } : {}),
    ...(values["run-bound"] ? { runBoundMs: boundedDuration("run-bound", values["run-bound"], MAX_DURATION_MS + 60 * 60_000) } : {}),
    demoFailureRate: rate,
    keepData: values["keep-data"],
    ...(values["max-in-flight"] ? { maxSagasInFlight: positiveInt("max-in-flight", values["max-in-flight"]) } : {}),
    ...(values.kills ? { kills: positiveInt("kills", values.kills) } : {}),
    ...(values["step-attempts"] ? { stepMaxAttempts: positiveInt("step-attempts", values["step-attempts"]) } : {}),
    ...(values["saga-deadline-ms"] ? { sagaDeadlineMs: positiveInt("saga-deadline-ms", values["saga-deadline-ms"]) } : {}),
    ...(values["fault-intensity"] ? { faultIntensity: Number(values["fault-intensity"]) } : {}),
    ...(values["twin-chance"] ? { twinChance: Number(values["twin-chance"]) } : {}),
    ...(values["window-kinds"] ? { windowKinds: listOf("window-kinds", values["window-kinds"], FAULT_KINDS) } : {}),
    ...(values["window-services"] ? { windowServices: listOf("window-services", values["window-services"], SERVICE_NAMES) } : {}),
    ...(values["data-dir"] ? { dataDir: values["data-dir"] } : {}),
    ...(values.postgres || values["postgres-url"] ? { postgresAdminUrl: values["postgres-url"] ?? testPostgresAdminUrl() } : {}),
    orchestrators: positiveInt("orchestrators", values.orchestrators, 9),
  };
  if (options.orchestrators > 1 && options.postgresAdminUrl === undefined)
    throw new Error("--orchestrators above 1 needs --postgres (the replicas share one saga log)");
} catch (err) {
  console.error(`${(err as Error).message}\n${usage}`);
  process.exit(2);
}

const started = Date.now();
try {
  const summary = await runChaos({ ...options, log: (line) => console.log(`[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`) });
  console.log(formatSummary(summary));
  console.log(JSON.stringify(summary));
  process.exitCode = chaosFailed(summary) ? 1 : 0;
} catch (err) {
  // The run itself broke (for example the system did not start): no summary to trust.
  console.error(`chaos run aborted: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
}
