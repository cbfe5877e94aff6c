/**
 * `npm run bench -- --sagas 4000 --levels 1,16,64,256 --failures 0.1 --durability process|power|both
 * --ceiling yes|no --warmup 300 [--cpu-prof]`: drives POST /saga through the six real processes
 * per configuration and concurrency level, then checks the invariants. Tables go to stdout, its
 * last line is one JSON object (64 clients of the primary configuration); progress and process
 * output go to stderr; full results to bench/results/<ISO date>-<durability>.{json,md}.
 * Exit code 1 when any configuration is void (violations, a crash, a failed start).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBenchArgs, USAGE, UsageError, type BenchOptions } from "./args.js";
import { describeMachine } from "./machine.js";
import { machineCpu } from "./process-stats.js";
import { sourceState } from "./source-state.js";
import { markdownReport, summaryLine, textReport, type BenchResults } from "./report.js";
import { runConfiguration, stopRunningSystems, type Configuration, type ConfigurationResult } from "./run-configuration.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SUMMARY_CONCURRENCY = 64;

function configurationsOf(o: BenchOptions): Configuration[] {
  const durable: Configuration[] = (o.durability === "both" ? (["process", "power"] as const) : [o.durability]).map((d) => ({
    name: d,
    durability: d,
    inMemory: false,
  }));
  return o.ceiling ? [...durable, { name: "ceiling", durability: "process", inMemory: true }] : durable;
}

async function main(): Promise<number> {
  let options: BenchOptions | "help";
  try {
    options = parseBenchArgs(process.argv.slice(2), join(HERE, "results"));
  } catch (err) {
    process.stderr.write(`${err instanceof UsageError ? err.message : String(err)}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = options;
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const startedAt = new Date().toISOString();
  const stamp = startedAt.replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
  const dataParent = o.dataParent ?? tmpdir();
  const cpuProfDir = o.cpuProf ? join(o.resultsDir, "profiles", `${stamp}-${o.durability}`) : undefined;
  const machine = describeMachine(dataParent);
  // The code the processes will run: taken now, since other work may commit during the run.
  const source = sourceState(join(HERE, ".."));
  const command = `npm run bench -- ${process.argv.slice(2).join(" ")}`.trimEnd();
  log(
    `${command}\nmachine: ${machine.cpuCount} × ${machine.cpuModel}, ${machine.totalMemoryMiB} MiB, node ${machine.node}, ${machine.kernel}; data on ${machine.dataFilesystem}`,
  );

  const before = machineCpu();
  await new Promise((r) => setTimeout(r, 1000));
  const after = machineCpu();
  const busyBeforePct = Number(((100 * (after.busyMs - before.busyMs)) / Math.max(1, after.totalMs - before.totalMs)).toFixed(1));
  if (busyBeforePct > 15)
    log(`WARNING: the machine was ${busyBeforePct}% busy before the benchmark started: other work will skew the numbers (see "others %")`);

  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the processes started by the benchmark`);
    void stopRunningSystems().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  const configurations = configurationsOf(o);
  const results: ConfigurationResult[] = [];
  for (const configuration of configurations) {
    const r = await runConfiguration(configuration, {
      sagas: o.sagas,
      levels: o.levels,
      failures: o.failures,
      warmup: o.warmup,
      warmupConcurrency: o.warmupConcurrency,
      maxSecondsPerLevel: o.maxSecondsPerLevel,
      sagaWaitMs: o.sagaWaitMs,
      cpuProfDir,
      dataParent,
      log,
    });
    results.push(r);
    process.stdout.write(`\n${textReport(r)}\n`);
  }

  const primary = results[0]!;
  const summary = summaryLine(primary, SUMMARY_CONCURRENCY);
  const bench: BenchResults = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command,
    settings: {
      sagasPerLevel: o.sagas,
      levels: o.levels,
      failures: o.failures,
      durability: o.durability,
      ceiling: o.ceiling,
      warmup: o.warmup,
      warmupConcurrency: o.warmupConcurrency,
      maxSecondsPerLevel: o.maxSecondsPerLevel,
      sagaWaitMs: o.sagaWaitMs,
      cpuProf: o.cpuProf,
    },
    machine: { ...machine, busyBeforeStartPct: busyBeforePct },
    source,
    primary: primary.configuration.name,
    configurations: results,
    summary,
  };
  mkdirSync(o.resultsDir, { recursive: true });
  const base = join(o.resultsDir, `${stamp}-${o.durability}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(bench, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownReport(bench));
  const shown = (p: string): string => relative(process.cwd(), p) || p;
  process.stdout.write(`\nresults: ${shown(`${base}.json`)}, ${shown(`${base}.md`)}\n`);
  if (cpuProfDir) {
    process.stdout.write(`cpu profiles (one per process and configuration): ${shown(cpuProfDir)}/<configuration>/<process>.cpuprofile\n`);
    const level = primary.levels.find((l) => l.concurrency === summary?.concurrency);
    const window = level ? ` --from-us ${level.monotonicWindowUs.fromUs} --to-us ${level.monotonicWindowUs.toUs}` : "";
    process.stdout.write(
      `  top self time of the ${level?.concurrency ?? "?"}-client level: node --import tsx bench/profile-top.ts ` +
        `${shown(cpuProfDir)}/${primary.configuration.name}/<process>.cpuprofile${window}\n` +
        `  (every level's window is "monotonicWindowUs" in the results JSON)\n`,
    );
  }

  const voids = results.filter((r) => r.voidReason !== undefined);
  for (const r of voids) {
    process.stdout.write(`\n!!! RUN VOID: ${r.configuration.name}: ${r.voidReason} — its numbers are not valid results !!!\n`);
  }
  const last = summary ?? {
    concurrency: SUMMARY_CONCURRENCY,
    durability: primary.configuration.name,
    violations: primary.invariants?.violationCount ?? 0,
    void: true,
    error: primary.voidReason ?? "no level was measured",
  };
  process.stdout.write(`${JSON.stringify(last)}\n`);
  return voids.length > 0 ? 1 : 0;
}

process.exitCode = await main().catch(async (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  await stopRunningSystems();
  return 1;
});
