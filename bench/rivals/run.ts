/**
 * `npm run bench:rivals`: TP-SAGA, Restate and DBOS running the same order saga against the
 * same four TP-SAGA services on this machine, one engine after the other (each rival as
 * installed and as tuned for the machine), measured with the same load generator and order mix.
 * Progress goes to stderr; the Markdown tables to stdout and `bench/results/<ISO date>-rivals.md`
 * (+ `.json`); the last stdout line is one JSON object (`rivals-line.ts`). Exit code 1 when an
 * engine's run is void, 2 for a bad command line or a tree with uncommitted changes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeMachine } from "../machine.js";
import { stopRunningSystems } from "../run-configuration.js";
import { sourceState } from "../source-state.js";
import { startDbosEngine } from "./dbos/dbos-engine.js";
import type { EngineResult } from "./engine-result.js";
import { startRestateEngine } from "./restate/restate-engine.js";
import { parseRivalArgs, USAGE, UsageError } from "./rival-args.js";
import { rivalsLine } from "./rivals-line.js";
import { rivalsMarkdown } from "./rivals-report.js";
import { dbosLabel, dbosTuning, restateLabel, restateTuning } from "./rival-tuning.js";
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

// The commit measured, taken before anything runs; every tracked file counts (the rivals run bench/rivals).
const source = sourceState(fileURLToPath(new URL("../..", import.meta.url)), "");
if (source && source.uncommitted.length > 0 && !options.allowDirty) {
  console.error(
    `refusing to run: the tree differs from ${source.commit.slice(0, 12)} (${source.uncommitted.map((l) => l.slice(3)).join(", ")}), ` +
      "so the figures would belong to no commit. Commit or stash, or pass --allow-dirty (the results then say dirty: true).",
  );
  process.exit(2);
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

const overrides = { restatePartitions: options.restatePartitions, dbosPool: options.dbosPool };
const restatePorts =
  options.restatePortBase === undefined
    ? undefined
    : { ingress: options.restatePortBase, admin: options.restatePortBase + 1, node: options.restatePortBase + 2 };
const results: EngineResult[] = [];
for (const engine of options.engines) {
  if (engine === "tp-saga") {
    for (const d of options.tpSagaDurability) results.push(await runTpSaga(d, settings));
  } else if (engine === "restate") {
    for (const t of options.tunings) {
      const tuning = restateTuning(t, overrides);
      const who = { label: restateLabel(tuning), engineName: "restate", tuning: t };
      results.push(await runRival((o) => startRestateEngine({ ...o, tuning, ...(restatePorts ? { ports: restatePorts } : {}) }), who, settings));
    }
  } else {
    for (const t of options.tunings) {
      const tuning = dbosTuning(t, overrides);
      results.push(await runRival((o) => startDbosEngine({ ...o, tuning }), { label: dbosLabel(tuning), engineName: "dbos", tuning: t }, settings));
    }
  }
}

const dirty = source ? source.uncommitted.length > 0 : undefined;
const run = {
  startedAt,
  source: source
    ? `${source.commit.slice(0, 12)} "${source.subject}"${dirty ? `, with uncommitted changes to ${source.uncommitted.map((l) => l.slice(3)).join(", ")}` : ""}`
    : "unknown (not a git checkout)",
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
process.stdout.write(`${JSON.stringify(rivalsLine(results, source ? { commit: source.commit, dirty: dirty ?? false } : undefined))}\n`);
process.exit(results.some((r) => r.voidReason) ? 1 : 0);
