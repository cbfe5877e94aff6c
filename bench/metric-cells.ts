/**
 * `node --import tsx bench/metric-cells.ts [--calls N] [--rounds R]`: the CPU time of what one
 * recorded call costs (a counter increment and a histogram observation, as every call on the
 * hot path makes), through prom-client's own `labels(...)` children and through the cells of
 * platform/metric-families.ts. Rounds alternate between the two; the best of each is printed.
 */
import { parseArgs } from "node:util";
import { Counter, Histogram, Registry } from "prom-client";
import { CounterFamily, HistogramFamily, LATENCY_BUCKETS_SECONDS } from "../platform/metric-families.js";

const { values } = parseArgs({ options: { calls: { type: "string", default: "2000000" }, rounds: { type: "string", default: "5" } } });
const calls = Number(values.calls);
const rounds = Number(values.rounds);
if (!Number.isInteger(calls) || calls < 1 || !Number.isInteger(rounds) || rounds < 1) throw new Error("--calls and --rounds take positive integers");

const registry = new Registry();
const labels = { grpc_service: "saga.payments.v1.PaymentsService", grpc_method: "AuthorizePayment", wire: "exchange" };
const promCounter = new Counter({
  name: "p_total",
  help: "p",
  labelNames: ["grpc_service", "grpc_method", "wire", "grpc_code"],
  registers: [registry],
});
const promHistogram = new Histogram({
  name: "p_seconds",
  help: "p",
  labelNames: ["grpc_service", "grpc_method", "wire"],
  buckets: [...LATENCY_BUCKETS_SECONDS],
  registers: [registry],
});
const promCounterChild = promCounter.labels({ ...labels, grpc_code: "OK" });
const promHistogramChild = promHistogram.labels(labels);
const cellCounter = new CounterFamily(registry, "c_total", "c", ["grpc_service", "grpc_method", "wire", "grpc_code"]).cell({
  ...labels,
  grpc_code: "OK",
});
const cellHistogram = new HistogramFamily(registry, "c_seconds", "c", ["grpc_service", "grpc_method", "wire"], LATENCY_BUCKETS_SECONDS).cell(labels);

const ways = {
  "prom-client labels() children": (v: number) => {
    promCounterChild.inc();
    promHistogramChild.observe(v);
  },
  cells: (v: number) => {
    cellCounter.inc();
    cellHistogram.observe(v);
  },
};

const best: Record<string, number> = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, record] of Object.entries(ways)) {
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < calls; i++) record((i % 1000) / 100_000);
    const cpu = process.cpuUsage(cpuBefore);
    const ns = ((cpu.user + cpu.system) * 1000) / calls;
    best[name] = Math.min(best[name] ?? Infinity, ns);
  }
}
for (const [name, ns] of Object.entries(best)) process.stdout.write(`${name.padEnd(32)} ${ns.toFixed(1)} ns of CPU per call (counter + histogram)\n`);
