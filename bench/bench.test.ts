import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { selfTimes, type CpuProfile } from "./cpu-profile.js";
import { runLoad } from "./load.js";
import { percentile, summarize } from "./percentiles.js";
import { cpuMsOf, peakRssKiBOf } from "./process-stats.js";
import { sagaMix } from "./saga-mix.js";

describe("sagaMix", () => {
  it("fails the given share, spread evenly and cycling over the four failing steps", () => {
    const mix = sagaMix(0.1);
    const kinds = Array.from({ length: 1000 }, (_, i) => mix(i).kind);
    expect(kinds.filter((k) => k !== "success")).toHaveLength(100);
    expect(kinds.slice(0, 10).filter((k) => k !== "success")).toHaveLength(1);
    for (const step of ["catalog", "payments", "purchases", "inventory"]) {
      expect(kinds.filter((k) => k === `fails-at-${step}`)).toHaveLength(25);
    }
    expect(Array.from({ length: 50 }, (_, i) => sagaMix(0)(i).kind).every((k) => k === "success")).toBe(true);
    expect(Array.from({ length: 50 }, (_, i) => sagaMix(1)(i).kind).every((k) => k !== "success")).toBe(true);
  });
});

describe("percentiles", () => {
  it("uses nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(Float64Array.from(values).sort(), 50)).toBe(50);
    expect(summarize(values)).toMatchObject({ count: 100, p50Ms: 50, p95Ms: 95, p99Ms: 99, maxMs: 100, meanMs: 50.5 });
    expect(Number.isNaN(summarize([]).p99Ms)).toBe(true);
  });
});

describe("process stats", () => {
  it("reads CPU ms and peak RSS of a live process", () => {
    expect(cpuMsOf(process.pid)).toBeGreaterThan(0);
    expect(peakRssKiBOf(process.pid)).toBeGreaterThan(1024);
  });
});

describe("selfTimes", () => {
  const profile: CpuProfile = {
    startTime: 1_000,
    endTime: 1_400,
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: -1, columnNumber: -1 }, children: [2, 3] },
      { id: 2, callFrame: { functionName: "hot", url: "file:///repo/a.ts", lineNumber: 0, columnNumber: 0 } },
      { id: 3, callFrame: { functionName: "(idle)", url: "", lineNumber: -1, columnNumber: -1 } },
    ],
    samples: [2, 2, 3, 2],
    timeDeltas: [0, 100, 100, 100],
  };
  it("charges each sample the time to the next one, and cuts to a window", () => {
    const all = selfTimes(profile, "/repo");
    expect(all.functions[0]).toMatchObject({ functionName: "hot", location: "a.ts:~1", selfMs: 0.2 });
    const cut = selfTimes(profile, "/repo", { fromUs: 1_150, toUs: 1_400 });
    expect(cut.functions.find((f) => f.functionName === "hot")?.selfMs).toBe(0);
    expect(cut.functions.find((f) => f.functionName === "(idle)")?.selfMs).toBe(0.1);
  });
});

describe("runLoad", () => {
  let server: Server;
  let url = "";
  let connections = 0;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.statusCode = req.url === "/saga" ? 200 : 404;
        res.end("{}");
      });
    });
    server.on("connection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const a = server.address();
    url = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/saga`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("sends exactly count requests over at most concurrency kept-alive connections", async () => {
    const r = await runLoad({ url, concurrency: 4, count: 200, maxMs: 10_000, requestTimeoutMs: 5_000, body: () => "{}" });
    expect(r).toMatchObject({ sent: 200, answered: 200, statusCounts: { "200": 200 }, timeBound: false });
    expect(r.latenciesMs).toHaveLength(200);
    expect(connections).toBeLessThanOrEqual(4);
  });

  it("stops at the time bound", async () => {
    const r = await runLoad({ url, concurrency: 2, count: 10_000_000, maxMs: 100, requestTimeoutMs: 5_000, body: () => "{}" });
    expect(r.timeBound).toBe(true);
    expect(r.sent).toBeLessThan(10_000_000);
  });

  it("refuses anything but the loopback interface", async () => {
    await expect(
      runLoad({ url: "http://example.com/saga", concurrency: 1, count: 1, maxMs: 100, requestTimeoutMs: 100, body: () => "" }),
    ).rejects.toThrow(/loopback/);
  });
});
