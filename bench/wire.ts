/**
 * `npm run bench:wire -- [--calls N] [--concurrency C] [--rounds R]`: the cost of one call on
 * our gRPC platform, unary against the Exchange stream. A catalog server (platform
 * `startGrpcServer`, trivial handlers, no database) runs in a child process; this process
 * calls `PriceOrder` through `createServiceClient` with C calls in flight, R rounds of N calls
 * each way, alternating. It prints calls/s and CPU µs per call of the client and of the server
 * (from process.cpuUsage of each). Only 127.0.0.1; bounded by N × R calls per kind.
 */
import { fork } from "node:child_process";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { readMetricsConfig } from "#platform/metrics-config.js";
import { turnMetricsOff } from "#platform/metrics-registry.js";

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// METRICS=off (both sides: the server inherits the environment) measures what call metrics cost.
if (!readMetricsConfig("bench-wire").enabled) turnMetricsOff();

if (process.argv[2] === "--serve") {
  const server = await startGrpcServer({
    services: [
      serve(CatalogService, {
        getProduct: () => ({}),
        listProducts: () => ({}),
        priceOrder: (req) => ({ totalCents: BigInt(req.lines.length), lines: [] }),
      }),
    ],
    port: 0,
    log: createLogger("wire-server", "silent"),
  });
  process.on("message", (m) => {
    if (m === "cpu") process.send!({ cpu: cpuMicros() });
    if (m === "stop") void server.close().then(() => process.exit(0));
  });
  process.send!({ url: server.url });
} else {
  const { values } = parseArgs({
    options: {
      calls: { type: "string", default: "20000" },
      concurrency: { type: "string", default: "64" },
      rounds: { type: "string", default: "3" },
    },
  });
  const calls = Number(values.calls);
  const concurrency = Number(values.concurrency);
  const rounds = Number(values.rounds);
  const child = fork(fileURLToPath(import.meta.url), ["--serve"], { execArgv: ["--import", "tsx"] });
  const next = <T>(): Promise<T> => new Promise((resolve) => child.once("message", (m) => resolve(m as T)));
  const { url } = await next<{ url: string }>();
  const serverCpu = async (): Promise<number> => {
    const reply = next<{ cpu: number }>();
    child.send("cpu");
    return (await reply).cpu;
  };
  const clients = {
    unary: createServiceClient(CatalogService, url),
    exchange: createServiceClient(CatalogService, url, { exchange: true }),
  };
  const request = { lines: [{ productId: "notebook", quantity: 1 }] };
  const measure = async (kind: keyof typeof clients, n: number): Promise<{ perSecond: number; clientUs: number; serverUs: number }> => {
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < n) {
        sent++;
        await clients[kind].priceOrder(request, { timeoutMs: 10_000 });
      }
    };
    const s0 = await serverCpu();
    const c0 = cpuMicros();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const ms = performance.now() - t0;
    const c1 = cpuMicros();
    const s1 = await serverCpu();
    return { perSecond: (n / ms) * 1000, clientUs: (c1 - c0) / n, serverUs: (s1 - s0) / n };
  };
  await measure("unary", 5_000); // warm-up: V8 needs thousands of calls to optimise grpc-js
  await measure("exchange", 5_000);
  console.log(`${calls} calls per round, ${concurrency} in flight, ${rounds} rounds each, alternating`);
  console.log("kind      calls/s   client µs/call   server µs/call");
  for (let r = 0; r < rounds; r++) {
    for (const kind of ["unary", "exchange"] as const) {
      const m = await measure(kind, calls);
      console.log(
        `${kind.padEnd(8)} ${m.perSecond.toFixed(0).padStart(8)} ${m.clientUs.toFixed(1).padStart(16)} ${m.serverUs.toFixed(1).padStart(16)}`,
      );
    }
  }
  clients.unary.close();
  clients.exchange.close();
  child.send("stop");
}
