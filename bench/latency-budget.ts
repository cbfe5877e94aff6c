/**
 * `npm run bench:budget -- [--sagas N] [--warmup N] [--durability process|power]`: where one
 * client's saga spends its time. Starts the six processes (as `npm run bench` does: compiled,
 * free ports, a fresh data directory), warms up, then sends N successful orders one at a time
 * and reads each process's /metrics before and after: for every call on the way (POST /saga,
 * StartSaga, each service RPC) the caller's mean time, the callee's mean time, and the gap
 * between them (the wire: queueing, wake-ups, HTTP/2, encoding); and each database's commits.
 * Means over N sagas are steadier than percentiles across runs, so two trees can be compared
 * hop by hop. Only 127.0.0.1; bounded by N + warm-up sagas.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { startSystem, type RunningSystem } from "../system/start-system.js";
import type { ProcessName } from "../system/processes.js";
import { scrape, type Scrape } from "../test/prometheus-scrape.js";
import { runLoad } from "./load.js";
import { SUCCESS_ORDER } from "./saga-mix.js";
import { textTable } from "./report.js";
import { sourceState } from "./source-state.js";

const USAGE = "usage: npm run bench:budget -- [--sagas N (default 1000)] [--warmup N (default 2000)] [--durability process|power]";
const { values } = parseArgs({
  options: {
    sagas: { type: "string", default: "1000" },
    warmup: { type: "string", default: "2000" },
    durability: { type: "string", default: "process" },
  },
});
const count = (name: "sagas" | "warmup"): number => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new Error(`--${name} ${JSON.stringify(values[name])}: must be an integer from 1 to 100000\n${USAGE}`);
  return n;
};
const sagas = count("sagas");
const warmup = count("warmup");
const durability = values.durability;
if (durability !== "process" && durability !== "power")
  throw new Error(`--durability ${JSON.stringify(durability)}: must be process or power\n${USAGE}`);

/** The RPCs of a successful order saga, in the order the saga makes them, with the service that serves each. */
const CALLS: readonly (readonly [method: string, service: ProcessName])[] = [
  ["PriceOrder", "catalog"],
  ["AuthorizePayment", "payments"],
  ["ProcessPurchase", "purchases"],
  ["ReserveStock", "inventory"],
  ["CapturePayment", "payments"],
  ["ConfirmPurchase", "purchases"],
  ["CommitStock", "inventory"],
];
const PROCESSES: readonly ProcessName[] = ["gateway", "orchestrator", "catalog", "payments", "purchases", "inventory"];

const dataDir = mkdtempSync(join(tmpdir(), "tp-saga-budget-"));
let system: RunningSystem | undefined;
try {
  const running = await startSystem({
    dataDir,
    ports: { catalog: 0, payments: 0, purchases: 0, inventory: 0, orchestrator: 0, gateway: 0 },
    env: { DURABILITY: durability, LOG_LEVEL: "warn", DATABASE_URL: "" },
    // The processes' lines go to stderr: stdout is the report, ending with one JSON line.
    onLine: (name, line) => void process.stderr.write(`[${name.padEnd(12)}] ${line}\n`),
  });
  system = running;
  const url = `${running.urls.gateway}/saga`;
  const body = JSON.stringify(SUCCESS_ORDER);
  const load = (n: number, concurrency: number) =>
    runLoad({ url, concurrency, count: n, maxMs: 600_000, requestTimeoutMs: 30_000, body: () => body });
  // Warm-up: V8 optimises after thousands of calls; most with several clients, the last alone.
  await load(warmup, 16);
  await load(200, 1);
  const metricsUrl = (name: ProcessName): string => {
    const url = running.metricsUrls[name];
    if (url === undefined) throw new Error(`${name} serves no /metrics (is METRICS=off set?); the budget reads them`);
    return url;
  };
  const scrapeAll = async (): Promise<Map<ProcessName, Scrape>> =>
    new Map(await Promise.all(PROCESSES.map(async (name) => [name, await scrape(metricsUrl(name))] as const)));
  const before = await scrapeAll();
  const run = await load(sagas, 1);
  const after = await scrapeAll();
  if (run.answered !== sagas || (run.statusCounts["200"] ?? 0) !== sagas)
    throw new Error(`expected ${sagas} answers 200, got ${JSON.stringify(run.statusCounts)} and errors ${JSON.stringify(run.errors)}`);

  /** Mean in ms of histogram `name` (labels included) over the measured sagas, and how many observations per saga. */
  const mean = (from: ProcessName, name: string, labels: Record<string, string>): { ms: number; perSaga: number } => {
    const delta = (suffix: string): number => after.get(from)!.sum(name + suffix, labels) - before.get(from)!.sum(name + suffix, labels);
    const observations = delta("_count");
    return { ms: observations === 0 ? Number.NaN : (1000 * delta("_sum")) / observations, perSaga: observations / sagas };
  };
  const latencies = [...run.latenciesMs].sort((a, b) => a - b);
  const clientMs = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  const httpMs = mean("gateway", "http_request_duration_seconds", { method: "POST", route: "/saga", status: "200" }).ms;
  const hops = [
    { hop: "POST /saga (load generator → gateway)", callerMs: clientMs, calleeMs: httpMs },
    {
      hop: "StartSaga (gateway → orchestrator)",
      callerMs: mean("gateway", "grpc_client_handling_seconds", { grpc_method: "StartSaga" }).ms,
      calleeMs: mean("orchestrator", "grpc_server_handling_seconds", { grpc_method: "StartSaga" }).ms,
    },
    ...CALLS.map(([method, service]) => ({
      hop: `${method} (orchestrator → ${service})`,
      callerMs: mean("orchestrator", "grpc_client_handling_seconds", { grpc_method: method }).ms,
      calleeMs: mean(service, "grpc_server_handling_seconds", { grpc_method: method }).ms,
    })),
  ];
  const commits = PROCESSES.filter((p) => p !== "gateway").map((p) => {
    const { ms, perSaga } = mean(p, "tpsaga_store_commit_seconds", { store: "sqlite" });
    return { process: p, perSaga, ms };
  });
  const f = (n: number): string => (Number.isNaN(n) ? "–" : n.toFixed(3));
  const source = sourceState(fileURLToPath(new URL("..", import.meta.url)));
  process.stdout.write(
    `${sagas} successful sagas one at a time (DURABILITY=${durability}), after ${warmup + 200} to warm up; means in ms\n` +
      `client p50 ${f(latencies[Math.floor(latencies.length / 2)]!)}, mean ${f(clientMs)}\n\n` +
      textTable({
        headers: ["call", "caller", "callee", "between"],
        rows: hops.map((h) => [h.hop, f(h.callerMs), f(h.calleeMs), f(h.callerMs - h.calleeMs)]),
      }) +
      "\n" +
      textTable({
        headers: ["database of", "commits per saga", "ms per commit"],
        rows: commits.map((c) => [c.process, c.perSaga.toFixed(2), f(c.ms)]),
      }) +
      "\n" +
      JSON.stringify({
        bench: "tp-saga-budget",
        commit: source?.commit ?? null,
        dirty: source === undefined ? null : source.uncommitted.length > 0,
        durability,
        sagas,
        clientMs,
        hops,
        commits,
      }) +
      "\n",
  );
} finally {
  await system?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
