/**
 * The rivals benchmark's report: one Markdown document with a side-by-side table per
 * concurrency level, each engine's versions, durability, warm-up and invariant check, and a
 * per-process CPU breakdown (the JSON line is `rivals-line.ts`).
 */
import type { MachineDescription } from "../machine.js";
import type { EngineResult } from "./engine-result.js";

export interface RivalsRun {
  readonly startedAt: string;
  /** Commit measured (and whether the tree was dirty). */
  readonly source: string;
  readonly command: string;
  readonly machine: MachineDescription;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly results: readonly EngineResult[];
}

/** What each engine writes durably per saga: said beside every table of figures. */
export const DURABLE_WRITES =
  "**Durable writes differ by design.** A TP-SAGA saga in `power` makes two durable writes of its own log before its answer " +
  "(created, decided) and a third after it (completed); step starts and successes ride along with them, and the writes of all " +
  "sagas in flight share one group commit and one fsync. The rivals make one durable write per step: Restate journals every " +
  "`ctx.run` in its fsynced log, DBOS commits a checkpoint per `runStep` to PostgreSQL with the WAL flushed: seven for a completed " +
  "saga (four actions, three confirmations), plus their records of the invocation itself. The four services' own writes are the " +
  "same under every engine.";

const f = (n: number | undefined, digits = 1): string => (n === undefined || Number.isNaN(n) ? "—" : n.toFixed(digits));
const counts = (c: Readonly<Record<string, number>>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k}: ${v}`)
    .join(", ") || "—";

/** The Markdown report of a whole run. */
export function rivalsMarkdown(run: RivalsRun): string {
  const out: string[] = [];
  const m = run.machine;
  out.push(`# TP-SAGA and its rivals, side by side — ${run.startedAt}`, "");
  out.push("```", run.command, "```", "");
  out.push(
    `Source: ${run.source}.`,
    `Machine: ${m.cpuModel}, ${m.cpuCount} CPUs, ${m.totalMemoryMiB} MiB, Node ${m.node}, ${m.kernel}; temp data on ${m.dataFilesystem}.`,
    `Settings: ${JSON.stringify(run.settings)}`,
    "",
    "Every engine calls the same four TP-SAGA gRPC services (fresh SQLite files each), driven by the same load generator",
    "(`bench/load.ts`) with the same order mix (`bench/saga-mix.ts`); sagas/s counts answers with an outcome (200 completed,",
    "409 compensated). CPU ms per saga: *engine* = TP-SAGA's orchestrator + gateway, restate-server + SDK endpoint, or the DBOS",
    "process + its PostgreSQL backends; *services* = the four services; *pg shared* = PostgreSQL's walwriter, checkpointer and",
    "background writer (they serve every database on the server); *load gen* = the benchmark process.",
    "",
    DURABLE_WRITES,
    "",
    "Each rival runs twice when asked (`--tuning both`): *defaults* as installed (Restate 24 partitions, DBOS pool 10, no V8",
    "flags) and *tuned* as a knowledgeable user would run it on this machine (Restate one partition per core, DBOS a pool sized",
    "for 64 clients, and TP-SAGA's V8 flags for their Node processes). TP-SAGA runs with its own settings in every run.",
    "",
  );
  const levels = [...new Set(run.results.flatMap((r) => r.levels.map((l) => l.concurrency)))].sort((a, b) => a - b);
  for (const c of levels) {
    out.push(`## ${c} client${c === 1 ? "" : "s"}`, "");
    out.push(
      "| engine | sagas/s | p50 ms | p95 ms | p99 ms | max ms | answers | busy % | iowait % | others % | CPU ms/saga engine | services | pg shared | load gen |",
    );
    out.push("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of run.results) {
      const l = r.levels.find((x) => x.concurrency === c);
      if (!l) {
        out.push(`| ${r.engine} | — | | | | | ${r.voidReason ?? "not run"} | | | | | | | |`);
        continue;
      }
      const mark = r.voidReason ? " (VOID)" : "";
      const answers =
        counts(l.statusCounts) + (Object.keys(l.errors).length ? `; errors ${counts(l.errors)}` : "") + (l.timeBound ? "; time bound" : "");
      const cpu = l.cpuMsPerSaga;
      out.push(
        `| ${r.engine}${mark} | ${f(l.sagasPerSecond)} | ${f(l.latency.p50Ms)} | ${f(l.latency.p95Ms)} | ${f(l.latency.p99Ms)} | ${f(l.latency.maxMs)} | ${answers} | ${f(l.machineBusyPct)} | ${f(l.machineIowaitPct)} | ${f(l.machineOtherPct)} | ${f(cpu.engine, 2)} | ${f(cpu.services, 2)} | ${f(cpu.shared, 2)} | ${f(cpu.loadGenerator, 2)} |`,
      );
    }
    out.push("");
  }
  out.push("## Engines", "");
  for (const r of run.results) {
    out.push(`### ${r.engine}${r.voidReason ? ` — VOID: ${r.voidReason}` : ""}`, "");
    out.push(
      `- Versions: ${
        Object.entries(r.versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(", ") || "—"
      }`,
    );
    for (const d of r.durability) out.push(`- Durability: ${d}`);
    for (const s of r.settings) out.push(`- Settings: ${s}`);
    out.push(`- The four services: DURABILITY=${r.servicesDurability}`);
    if (r.warmup)
      out.push(
        `- Warm-up: ${r.warmup.sagas} sagas in ${f(r.warmup.elapsedMs / 1000)} s (${counts(r.warmup.statusCounts)}${Object.keys(r.warmup.errors).length ? `; errors ${counts(r.warmup.errors)}` : ""})`,
      );
    if (r.invariants) {
      out.push(
        `- Invariants (system/invariants.ts): ${r.invariants.sagas} sagas (${counts(r.invariants.byStatus)}), **${r.invariants.violationCount} violation(s)**`,
      );
      for (const v of r.invariants.violations.slice(0, 10)) out.push(`  - ${v}`);
    } else {
      out.push("- Invariants: not checked");
    }
    if (r.levels.length) {
      const names = [...new Set(r.levels.flatMap((l) => Object.keys(l.cpuMsPerSaga.byProcess)))];
      out.push("", `| clients | ${names.map((n) => `${n} CPU ms/saga`).join(" | ")} |`, `|---:|${names.map(() => "---:").join("|")}|`);
      for (const l of r.levels) out.push(`| ${l.concurrency} | ${names.map((n) => f(l.cpuMsPerSaga.byProcess[n], 2)).join(" | ")} |`);
    }
    out.push("");
  }
  return out.join("\n");
}
