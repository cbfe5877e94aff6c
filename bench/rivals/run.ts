/**
 * `npm run bench:rivals`: TP-SAGA, Restate and DBOS running the same order saga against the
 * same four TP-SAGA services on this machine, one engine after the other, measured with the
 * same load generator and order mix. Progress goes to stderr; the Markdown tables to stdout
 * and `bench/results/<ISO date>-rivals.md` (+ `.json`); the last stdout line is a JSON summary
 * at 64 clients per engine. Exit code 1 when an engine's run is void.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeMachine } from "../machine.js";
import { stopRunningSystems } from "../run-configuration.js";
import { startDbosEngine } from "./dbos/dbos-engine.js";
import type { EngineResult } from "./engine-result.js";
import { startRestateEngine } from "./restate/restate-engine.js";
import { parseRivalArgs, USAGE, UsageError } from "./rival-args.js";
import { rivalsMarkdown, rivalsSummary } from "./rivals-report.js";
import { runRival, type RivalSettings } from "./run-rival.js";
import { runTpSaga } from "./run-tp-saga.js";

const RESULTS = fileURLToPath(new URL("../results", import.meta.url));

let options;
try {
  options = parseRivalArgs(process.argv.slice(2), RESULTS);
} catch (err) {
  if (err instanceof UsageError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
if (options === "help") {
  console.log(USAGE);
  process.exit(0);
}

const startedAt = new Date().toISOString();
const dataParent = options.dataParent ?? tmpdir();
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const settings: RivalSettings = {
  sagas: options.sagas,
  levels: options.levels,
  failures: options.failures,
  warmup: options.warmup,
  warmupConcurrency: options.warmupConcurrency,
  maxSecondsPerLevel: options.maxSecondsPerLevel,
  requestTimeoutMs: options.requestTimeoutMs,
  servicesDurability: options.servicesDurability,
  dataParent,
  log,
};

process.once("SIGINT", () => void stopRunningSystems().finally(() => process.exit(130)));

const results: EngineResult[] = [];
for (const engine of options.engines) {
  if (engine === "tp-saga") {
    for (const d of options.tpSagaDurability) results.push(await runTpSaga(d, settings));
  } else if (engine === "restate") {
    const partitions = options.restatePartitions;
    const label = partitions === undefined ? "restate" : `restate (${partitions} partitions)`;
    results.push(await runRival((o) => startRestateEngine({ ...o, partitions }), label, settings));
  } else {
    results.push(await runRival(startDbosEngine, "dbos", settings));
  }
}

/** The commit measured, and whether the tree had uncommitted changes (other people's work in progress changes what runs). */
function sourceState(): string {
  try {
    const git = (...args: string[]): string =>
      execFileSync("git", args, { cwd: fileURLToPath(new URL("../..", import.meta.url)), encoding: "utf8" }).trim();
    const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " with uncommitted changes" : ""}`;
  } catch {
    return "unknown (not a git checkout)";
  }
}

const run = {
  startedAt,
  source: sourceState(),
  command: `npm run bench:rivals -- ${process.argv.slice(2).join(" ")}`.trim(),
  machine: describeMachine(dataParent),
  settings: { ...options, resultsDir: undefined, dataParent },
  results,
};
const markdown = rivalsMarkdown(run);
mkdirSync(options.resultsDir, { recursive: true });
const stem = join(options.resultsDir, `${startedAt.slice(0, 19).replace(/:/g, "-")}Z-rivals`);
writeFileSync(`${stem}.md`, `${markdown}\n`);
writeFileSync(`${stem}.json`, `${JSON.stringify(run, null, 2)}\n`);
log(`results: ${stem}.md and .json`);
process.stdout.write(`${markdown}\n`);
process.stdout.write(`${JSON.stringify(rivalsSummary(results))}\n`);
process.exit(results.some((r) => r.voidReason) ? 1 : 0);
