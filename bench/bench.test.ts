import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBenchArgs } from "./args.js";
import { selfTimes, type CpuProfile } from "./cpu-profile.js";
import { runLoad } from "./load.js";
import { percentile, summarize } from "./percentiles.js";
import { cpuMsOf, peakRssKiBOf, processTreeCpuMs } from "./process-stats.js";
import type { EngineResult } from "./rivals/engine-result.js";
import { rivalsLine } from "./rivals/rivals-line.js";
import { parseRivalArgs } from "./rivals/rival-args.js";
import { dbosLabel, dbosTuning, restateLabel, restateTuning } from "./rivals/rival-tuning.js";
import { NODE_FLAGS } from "../system/processes.js";
import type { ConfigurationResult, LevelResult } from "./run-configuration.js";
import { runLine } from "./run-line.js";
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

describe("processTreeCpuMs", () => {
  it("keeps the CPU of a child that has exited (through the parent's cutime + cstime)", async () => {
    const before = processTreeCpuMs(process.pid);
    // The child burns 300 ms of its own CPU time (not wall time: the machine may be loaded), then exits.
    const child = spawn(process.execPath, ["-e", "const t = process.cpuUsage(); while (process.cpuUsage(t).user < 300_000) {}"], { stdio: "ignore" });
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(0);
    expect(processTreeCpuMs(process.pid) - before).toBeGreaterThanOrEqual(250);
  });
});

describe("parseBenchArgs", () => {
  it("reads --postgres and --orchestrators, and refuses replicas without PostgreSQL", () => {
    const o = parseBenchArgs(["--postgres", "--orchestrators", "1,2,3,2"], "/r");
    expect(o).toMatchObject({ postgres: true, orchestrators: [1, 2, 3] });
    expect(parseBenchArgs([], "/r")).toMatchObject({ postgres: false, orchestrators: [1] });
    expect(() => parseBenchArgs(["--orchestrators", "2"], "/r")).toThrow(/--orchestrators needs --postgres/);
    expect(() => parseBenchArgs(["--postgres", "--orchestrators", "0"], "/r")).toThrow(/--orchestrators "0": must be an integer from 1 to 16/);
  });
});

const level = (concurrency: number, extra: Partial<LevelResult> = {}): LevelResult => {
  const perProcess = { catalog: 0.1, payments: 0.2, purchases: 0.15, inventory: 0.15, orchestrator: 0.9, gateway: 0.4 };
  return {
    concurrency,
    requested: 100,
    sent: 100,
    finished: 100,
    elapsedMs: 500,
    sagasPerSecond: 200,
    latency: { count: 100, meanMs: 5, p50Ms: 4, p95Ms: 9, p99Ms: 12, maxMs: 15 },
    statusCounts: { "200": 90, "409": 10 },
    errors: {},
    timeBound: false,
    cpuMs: { ...perProcess, system: 190, loadGenerator: 20 },
    cpuMsPerSaga: { ...perProcess, system: 1.9, loadGenerator: Number.NaN },
    peakRssMiB: { catalog: 80, payments: 80, purchases: 80, inventory: 80, orchestrator: 90, gateway: 85 },
    peakRssPerLevel: true,
    monotonicWindowUs: { fromUs: 1, toUs: 2 },
    machineBusyPct: 90,
    machineIowaitPct: 0,
    machineOtherPct: 3,
    ...extra,
  };
};

describe("runLine", () => {
  const result = (c: ConfigurationResult["configuration"], levels: LevelResult[], voidReason?: string): ConfigurationResult => ({
    configuration: c,
    dataDir: "/tmp/x",
    warmup: undefined,
    levels,
    invariants: { sagas: 200, byStatus: { COMPLETED: 180, COMPENSATED: 20 }, violationCount: 0, violations: [] },
    voidReason,
    profiles: undefined,
  });

  it("is one JSON line with the commit, the dirty flag and every level's figures", () => {
    const pg = { serverMs: 50, serverMsPerSaga: 0.5, backendsMs: 30, backendsMsPerSaga: 0.3 };
    const r = result({ name: "pg-power-x2", durability: "power", inMemory: false, sagaLog: "postgres", orchestrators: 2 }, [
      level(1),
      level(64, { postgres: pg, orchestratorReplicasCpuMsPerSaga: [0.45, 0.45] }),
    ]);
    const text = JSON.stringify(runLine(r, { commit: "abc123", subject: "s", uncommitted: [" M orchestrator/main.ts"] }));
    expect(text).not.toContain("\n");
    const line = JSON.parse(text) as Record<string, unknown>;
    expect(line).toMatchObject({
      bench: "tp-saga",
      configuration: "pg-power-x2",
      commit: "abc123",
      dirty: true,
      durability: "power",
      sagaLog: "postgres",
      orchestrators: 2,
      violations: 0,
      void: null,
    });
    const levels = line["levels"] as Record<string, unknown>[];
    expect(levels.map((l) => l["clients"])).toEqual([1, 64]);
    expect(levels[1]).toMatchObject({
      sagasPerSecond: 200,
      p50Ms: 4,
      p99Ms: 12,
      cpuMsPerSaga: { orchestrator: 0.9, gateway: 0.4, catalog: 0.1, total: 1.9, loadGenerator: null },
      orchestratorReplicasCpuMsPerSaga: [0.45, 0.45],
      postgresCpuMsPerSaga: { server: 0.5, backends: 0.3 },
    });
    expect(levels[0]).not.toHaveProperty("postgresCpuMsPerSaga");
  });

  it("says where the log was, and why a run is void", () => {
    const ceiling = runLine(result({ name: "ceiling", durability: "process", inMemory: true }, [], "orchestrator exited"), undefined);
    expect(ceiling).toMatchObject({ sagaLog: "memory", orchestrators: 1, commit: null, dirty: null, void: "orchestrator exited", levels: [] });
    const clean = runLine(result({ name: "process", durability: "process", inMemory: false }, [level(1)]), {
      commit: "c",
      subject: "s",
      uncommitted: [],
    });
    expect(clean).toMatchObject({ sagaLog: "sqlite", dirty: false });
  });
});

describe("rivalsLine", () => {
  it("is one JSON line with the commit and, per engine, tuning and durability, every level's figures", () => {
    const engine = (name: string, tuning: EngineResult["tuning"], durabilityLevel: "process" | "power"): EngineResult => ({
      engine: `${name} ${tuning}`,
      engineName: name,
      tuning,
      durabilityLevel,
      versions: {},
      durability: [],
      settings: [`${tuning} settings`],
      servicesDurability: "power",
      warmup: undefined,
      levels: [
        {
          ...level(64),
          cpuMsPerSaga: { engine: 2.5, services: 1.25, shared: Number.NaN, loadGenerator: 0.2, byProcess: {} },
        },
      ],
      invariants: { sagas: 100, byStatus: {}, violationCount: 0, violations: [] },
      voidReason: undefined,
    });
    const line = JSON.parse(
      JSON.stringify(
        rivalsLine([engine("tp-saga", "own", "power"), engine("restate", "defaults", "power"), engine("restate", "tuned", "power")], {
          commit: "abc",
          dirty: false,
        }),
      ),
    ) as { commit: string; dirty: boolean; engines: Record<string, unknown>[] };
    expect(line).toMatchObject({ bench: "rivals", commit: "abc", dirty: false });
    expect(line.engines.map((e) => [e["engine"], e["tuning"], e["durability"]])).toEqual([
      ["tp-saga", "own", "power"],
      ["restate", "defaults", "power"],
      ["restate", "tuned", "power"],
    ]);
    expect(line.engines[2]).toMatchObject({
      settings: ["tuned settings"],
      violations: 0,
      void: null,
      levels: [{ clients: 64, sagasPerSecond: 200, p50Ms: 4, p99Ms: 12, cpuMsPerSaga: { engine: 2.5, services: 1.25, total: 3.75, pgShared: null } }],
    });
  });
});

describe("rival tuning", () => {
  it("runs each rival as installed and as tuned, and says which in its label", () => {
    expect(parseRivalArgs([], "/r")).toMatchObject({ tunings: ["defaults", "tuned"], allowDirty: false });
    expect(parseRivalArgs(["--tuning", "tuned", "--dbos-pool", "32", "--allow-dirty"], "/r")).toMatchObject({
      tunings: ["tuned"],
      dbosPool: 32,
      allowDirty: true,
    });
    expect(() => parseRivalArgs(["--tuning", "fast"], "/r")).toThrow(/--tuning "fast": must be defaults, tuned or both/);
    const none = { restatePartitions: undefined, dbosPool: undefined };
    expect(restateTuning("defaults", none)).toEqual({ tuning: "defaults", partitions: undefined, nodeFlags: [] });
    expect(restateTuning("tuned", { ...none, restatePartitions: 2 })).toEqual({ tuning: "tuned", partitions: 2, nodeFlags: [...NODE_FLAGS] });
    expect(dbosTuning("defaults", none)).toEqual({ tuning: "defaults", poolSize: undefined, nodeFlags: [] });
    expect(dbosTuning("tuned", none)).toEqual({ tuning: "tuned", poolSize: 64, nodeFlags: [...NODE_FLAGS] });
    expect(restateLabel(restateTuning("defaults", none))).toBe("restate defaults (24 partitions, no V8 flags)");
    expect(dbosLabel(dbosTuning("tuned", none))).toBe(`dbos tuned (pool 64, ${NODE_FLAGS.join(" ")})`);
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
