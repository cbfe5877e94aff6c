/**
 * `npm run bench` end to end, as small as it goes: the six real processes on SQLite, then with the
 * saga log on the test PostgreSQL server, a handful of sagas each; stdout must end with one JSON
 * line per configuration that a script can read. No figure is asserted (the machine is shared):
 * only that each line is there and carries every field.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { testPostgresAdminUrl } from "../platform/postgres-test-database.js";
import type { RunLine } from "./run-line.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);
const resultsDir = mkdtempSync(join(tmpdir(), "tp-saga-bench-e2e-"));
afterAll(() => rmSync(resultsDir, { recursive: true, force: true }));

describe("npm run bench --postgres", () => {
  it("ends with one JSON line per configuration: SQLite, then the saga log on PostgreSQL", { timeout: 300_000 }, async () => {
    const args = [
      "--sagas",
      "6",
      "--levels",
      "1,2",
      "--warmup",
      "0",
      "--ceiling",
      "no",
      "--max-seconds",
      "60",
      "--postgres",
      "--results-dir",
      resultsDir,
    ];
    const { stdout } = await run(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: testPostgresAdminUrl() },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 280_000,
    });
    const lines = stdout.trimEnd().split("\n").slice(-2);
    const [sqlite, postgres] = lines.map((l) => JSON.parse(l) as RunLine);
    expect(sqlite).toMatchObject({ bench: "tp-saga", configuration: "process", sagaLog: "sqlite", orchestrators: 1, violations: 0, void: null });
    expect(postgres).toMatchObject({
      bench: "tp-saga",
      configuration: "pg-process-x1",
      sagaLog: "postgres",
      orchestrators: 1,
      violations: 0,
      void: null,
    });
    for (const line of [sqlite!, postgres!]) {
      expect(line.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(typeof line.dirty).toBe("boolean");
      expect(line.durability).toBe("process");
      expect(line.levels.map((l) => l.clients)).toEqual([1, 2]);
      for (const l of line.levels) {
        expect(l.sagas).toBe(6);
        for (const figure of [l.sagasPerSecond, l.p50Ms, l.p99Ms, l.othersPct]) expect(Number.isFinite(figure)).toBe(true);
        expect(Object.keys(l.cpuMsPerSaga).sort()).toEqual(
          ["catalog", "gateway", "inventory", "loadGenerator", "orchestrator", "payments", "purchases", "total"].sort(),
        );
      }
    }
    for (const l of postgres!.levels) {
      expect(l.postgresCpuMsPerSaga).toBeDefined();
      expect(Object.keys(l.postgresCpuMsPerSaga!).sort()).toEqual(["backends", "server"]);
    }
    expect(sqlite!.levels[0]).not.toHaveProperty("postgresCpuMsPerSaga");
  });
});
