/**
 * `npm run bench -- --sagas 4000 --levels 1,16,64,256 --failures 0.1 --durability process|power|both
 * --ceiling yes|no --warmup 300 [--cpu-prof] [--postgres [--orchestrators 1,2,3]]`: drives POST
 * /saga through the six real processes per configuration and concurrency level, then checks the
 * invariants. Tables go to stdout, which ends with one JSON line per configuration (`run-line.ts`);
 * progress and process output go to stderr; full results to
 * bench/results/<ISO date>-<durability>.{json,md}.
 * Exit code 1 when any configuration is void (violations, a crash, a failed start), 2 for a bad
 * command line or a configuration this build cannot run.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseBenchArgs, USAGE, UsageError, type BenchOptions } from "./args.js";
import { describeMachine } from "./machine.js";
import { machineCpu } from "./process-stats.js";
import { sourceState } from "./source-state.js";
import { missingForReplicas } from "./orchestrator-replicas.js";
import { benchPostgresUrl, describeServer } from "./postgres-bench-database.js";
import { markdownReport, summaryLine, textReport, type BenchResults } from "./report.js";
import { runLine } from "./run-line.js";
import { runConfiguration, stopRunningSystems, type Configuration, type ConfigurationResult } from "./run-configuration.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SUMMARY_CONCURRENCY = 64;

function configurationsOf(o: BenchOptions): Configuration[] {
  const durabilities = o.durability === "both" ? (["process", "power"] as const) : [o.durability];
  const durable: Configuration[] = durabilities.map((d) => ({ name: d, durability: d, inMemory: false }));
  const postgres: Configuration[] = o.postgres
    ? durabilities.flatMap((d) =>
        o.orchestrators.map((n) => ({ name: `pg-${d}-x${n}`, durability: d, inMemory: false, sagaLog: "postgres" as const, orchestrators: n })),
      )
    : [];
  return [...durable, ...postgres, ...(o.ceiling ? [{ name: "ceiling", durability: "process" as const, inMemory: true }] : [])];
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
  // Refuse at once what this build cannot run, rather than after the first configurations.
  const replicasMissing = missingForReplicas(join(HERE, ".."), Math.max(...o.orchestrators));
  if (o.postgres && replicasMissing.length > 0) {
    log(
      `--orchestrators ${o.orchestrators.join(",")}: more than one orchestrator on one saga log needs ${replicasMissing.join(", and ")}. Run --orchestrators 1 until then.`,
    );
    return 2;
  }
  let postgresAdminUrl: string | undefined;
  try {
    postgresAdminUrl = o.postgres ? benchPostgresUrl() : undefined;
  } catch (err) {
    log((err as Error).message);
    return 2;
  }
  if (postgresAdminUrl) log(`saga log configurations on ${describeServer(postgresAdminUrl)}`);
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
      postgresAdminUrl,
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
      postgres: o.postgres,
      orchestrators: o.orchestrators,
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
  // The end of stdout: one JSON line per configuration, in the order run.
  process.stdout.write("\n");
  for (const r of results) process.stdout.write(`${JSON.stringify(runLine(r, source))}\n`);
  return voids.length > 0 ? 1 : 0;
}

process.exitCode = await main().catch(async (err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  await stopRunningSystems();
  return 1;
});
