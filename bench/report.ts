import { PROCESSES } from "../system/processes.js";
import type { MachineDescription } from "./machine.js";
import type { SourceState } from "./source-state.js";
import type { ConfigurationResult, LevelResult } from "./run-configuration.js";

/** Everything one `npm run bench` produced, as written to bench/results/<date>-<durability>.json. */
export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly command: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly machine: MachineDescription & { readonly busyBeforeStartPct: number };
  readonly source: SourceState | undefined;
  readonly primary: string;
  readonly configurations: readonly ConfigurationResult[];
  readonly summary: SummaryLine | undefined;
}

/** The last line of stdout: one level of the primary configuration. */
export interface SummaryLine {
  readonly concurrency: number;
  readonly sagasPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly cpuMsPerSaga: number;
  readonly durability: string;
  readonly violations: number;
  readonly void: boolean;
}

const NAMES = PROCESSES.map((p) => p.name);
const SHORT: Record<string, string> = {
  gateway: "gateway",
  orchestrator: "orch",
  catalog: "catalog",
  payments: "payments",
  purchases: "purchases",
  inventory: "inventory",
};

type Cell = string | number;
interface Table {
  readonly headers: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

const fmt = (c: Cell): string => (typeof c === "number" ? (Number.isNaN(c) ? "–" : String(c)) : c);

/** A table as aligned text (numbers right-aligned). */
export function textTable(t: Table): string {
  const cells = [t.headers.map(fmt), ...t.rows.map((r) => r.map(fmt))];
  const widths = t.headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const numeric = t.headers.map((_, i) => t.rows.every((r) => typeof r[i] === "number"));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** A table as GitHub markdown. */
export function markdownTable(t: Table): string {
  const numeric = t.headers.map((_, i) => t.rows.every((r) => typeof r[i] === "number"));
  return [
    `| ${t.headers.join(" | ")} |`,
    `| ${numeric.map((n) => (n ? "---:" : "---")).join(" | ")} |`,
    ...t.rows.map((r) => `| ${r.map(fmt).join(" | ")} |`),
  ].join("\n");
}

const statuses = (l: LevelResult): string =>
  [
    ...Object.entries(l.statusCounts)
      .sort()
      .map(([s, n]) => `${s}:${n}`),
    ...Object.entries(l.errors)
      .sort()
      .map(([e, n]) => `${e}:${n}`),
  ].join(" ") + (l.timeBound ? " (time-bound)" : "");

/** The three tables of one configuration: throughput and latency, CPU per saga, peak RSS. */
export function configurationTables(c: ConfigurationResult): { title: string; table: Table }[] {
  const pg = c.configuration.sagaLog === "postgres";
  const replicas = (c.configuration.orchestrators ?? 1) > 1;
  return [
    {
      title: "Throughput and latency (ms)",
      table: {
        headers: ["clients", "sagas", "seconds", "sagas/s", "p50", "p95", "p99", "max", "busy %", "others %", "iowait %", "HTTP statuses"],
        rows: c.levels.map((l) => [
          l.concurrency,
          l.finished,
          Number((l.elapsedMs / 1000).toFixed(2)),
          l.sagasPerSecond,
          l.latency.p50Ms,
          l.latency.p95Ms,
          l.latency.p99Ms,
          l.latency.maxMs,
          l.machineBusyPct,
          l.machineOtherPct,
          l.machineIowaitPct,
          statuses(l),
        ]),
      },
    },
    {
      title: `CPU ms per saga${pg ? " (PostgreSQL: the whole server, and the backends of this configuration's database)" : ""}`,
      table: {
        headers: [
          "clients",
          ...NAMES.map((n) => SHORT[n] ?? n),
          "six total",
          "load gen",
          ...(pg ? ["pg server", "pg backends"] : []),
          ...(replicas ? ["orch per replica"] : []),
        ],
        rows: c.levels.map((l) => [
          l.concurrency,
          ...NAMES.map((n) => l.cpuMsPerSaga[n]),
          l.cpuMsPerSaga.system,
          l.cpuMsPerSaga.loadGenerator,
          ...(pg ? [l.postgres?.serverMsPerSaga ?? Number.NaN, l.postgres?.backendsMsPerSaga ?? Number.NaN] : []),
          ...(replicas ? [(l.orchestratorReplicasCpuMsPerSaga ?? []).join(" / ")] : []),
        ]),
      },
    },
    {
      title: `Peak RSS (MiB${c.levels.every((l) => l.peakRssPerLevel) ? ", per level" : ", since process start"})`,
      table: {
        headers: ["clients", ...NAMES.map((n) => SHORT[n] ?? n), "six total"],
        rows: c.levels.map((l) => [
          l.concurrency,
          ...NAMES.map((n) => l.peakRssMiB[n]),
          Number(NAMES.reduce((s, n) => s + l.peakRssMiB[n], 0).toFixed(1)),
        ]),
      },
    },
  ];
}

function heading(c: ConfigurationResult): string {
  const cfg = c.configuration;
  if (cfg.inMemory) return `ceiling (DATA_DIR=:memory:, every store in-memory SQLite, not durable)`;
  if (cfg.sagaLog === "postgres") {
    const n = cfg.orchestrators ?? 1;
    return (
      `saga log on PostgreSQL, ${n} orchestrator${n === 1 ? "" : "s"}, DURABILITY=${cfg.durability} ` +
      `(synchronous_commit=${cfg.durability === "power" ? "on" : "off"}; the four services on SQLite with the same DURABILITY)`
    );
  }
  return `DURABILITY=${cfg.durability} (${cfg.durability === "power" ? "WAL fdatasynced off the event loop before any answer, survives power loss" : "synchronous=NORMAL, survives kill -9"})`;
}

function facts(c: ConfigurationResult): string[] {
  const out: string[] = [];
  if (c.warmup) out.push(`warm-up: ${c.warmup.sagas} sagas in ${(c.warmup.elapsedMs / 1000).toFixed(1)} s`);
  if (c.invariants) {
    out.push(`invariants: ${c.invariants.sagas} sagas ${JSON.stringify(c.invariants.byStatus)}, ${c.invariants.violationCount} violation(s)`);
  }
  if (c.profiles) for (const [name, file] of Object.entries(c.profiles)) out.push(`cpu profile of ${name}: ${file}`);
  return out;
}

const VOID_BANNER = (c: ConfigurationResult): string[] => [
  "!".repeat(78),
  `!!! RUN VOID: ${c.configuration.name}: ${c.voidReason}`,
  ...(c.invariants?.violations ?? []).slice(0, 10).map((v) => `!!!   ${v}`),
  "!".repeat(78),
];

/** The text report of one configuration, for stdout. */
export function textReport(c: ConfigurationResult): string {
  const parts = [`=== ${c.configuration.name}: ${heading(c)} ===`];
  if (c.voidReason) parts.push(...VOID_BANNER(c));
  for (const { title, table } of configurationTables(c)) parts.push(`${title}\n${textTable(table)}`);
  parts.push(facts(c).join("\n"));
  return parts.join("\n\n");
}

/** The markdown file: machine, command, then each configuration and a comparison. */
export function markdownReport(r: BenchResults): string {
  const m = r.machine;
  const lines = [
    `# TP-SAGA benchmark, ${r.startedAt}`,
    "",
    `\`${r.command}\``,
    "",
    `- machine: ${m.cpuCount} × ${m.cpuModel}, ${m.totalMemoryMiB} MiB, ${m.kernel} (${m.arch}), node ${m.node}`,
    `- data directories on: ${m.dataFilesystem}; machine ${m.busyBeforeStartPct}% busy in the second before the run`,
    `- code: ${r.source ? `${r.source.commit.slice(0, 12)} "${r.source.subject}"${r.source.uncommitted.length ? `, with uncommitted changes to ${r.source.uncommitted.map((l) => l.slice(3)).join(", ")}` : ""}` : "unknown"}`,
    `- settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(", ")}`,
    "- all six processes and the load generator share the machine's cores; CPU ms come from /proc/<pid>/stat (utime+stime), peak RSS from VmHWM",
    "- busy % / iowait %: the whole machine (all cores) during the level; others %: busy time used by neither the six processes nor the load generator (noise from other work)",
    ...(r.configurations.some((c) => c.configuration.sagaLog === "postgres")
      ? [
          "- pg server: utime+stime of every process of the PostgreSQL server (the postmaster found from postmaster.pid in its data_directory, its children alive, and its exited children through its cutime+cstime), other databases' work included; pg backends: the backends connected to the configuration's own database; neither is in \"six total\"",
        ]
      : []),
    "",
  ];
  const levels = [...new Set(r.configurations.flatMap((c) => c.levels.map((l) => l.concurrency)))];
  if (r.configurations.length > 1) {
    lines.push("## Comparison (sagas/s · p99 ms · CPU ms/saga of the six kinds of process [+ PostgreSQL server's])", "");
    lines.push(
      markdownTable({
        headers: ["clients", ...r.configurations.map((c) => c.configuration.name)],
        rows: levels.map((n) => [
          n,
          ...r.configurations.map((c) => {
            const l = c.levels.find((x) => x.concurrency === n);
            const pg = l?.postgres ? ` + ${fmt(l.postgres.serverMsPerSaga)}` : "";
            return l ? `${l.sagasPerSecond} · ${l.latency.p99Ms} · ${l.cpuMsPerSaga.system}${pg}` : "–";
          }),
        ]),
      }),
      "",
    );
  }
  for (const c of r.configurations) {
    lines.push(`## ${c.configuration.name}: ${heading(c)}`, "");
    if (c.voidReason) lines.push(`**RUN VOID: ${c.voidReason}**`, "", ...(c.invariants?.violations ?? []).slice(0, 20).map((v) => `- ${v}`), "");
    for (const { title, table } of configurationTables(c)) lines.push(`### ${title}`, "", markdownTable(table), "");
    lines.push(...facts(c).map((f) => `- ${f}`), "");
  }
  if (r.summary) lines.push("## Summary line", "", "```json", JSON.stringify(r.summary), "```", "");
  return lines.join("\n");
}

/** The summary of `concurrency` clients (or the nearest level measured) of configuration `c`. */
export function summaryLine(c: ConfigurationResult, concurrency: number): SummaryLine | undefined {
  const level = [...c.levels].sort((a, b) => Math.abs(a.concurrency - concurrency) - Math.abs(b.concurrency - concurrency))[0];
  const violations = c.invariants?.violationCount ?? 0;
  if (!level) return undefined;
  return {
    concurrency: level.concurrency,
    sagasPerSecond: level.sagasPerSecond,
    p50Ms: level.latency.p50Ms,
    p95Ms: level.latency.p95Ms,
    p99Ms: level.latency.p99Ms,
    cpuMsPerSaga: level.cpuMsPerSaga.system,
    durability: c.configuration.inMemory ? "ceiling" : c.configuration.durability,
    violations,
    void: c.voidReason !== undefined,
  };
}
