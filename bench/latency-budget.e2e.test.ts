/**
 * `npm run bench:budget` end to end, as small as it goes: the six real processes on SQLite, a
 * few sagas one at a time. No figure is asserted (the machine is shared): only that stdout ends
 * with one JSON line naming every call of the saga with a caller and a callee time, and the
 * commits of each database.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const run = promisify(execFile);

interface BudgetLine {
  bench: string;
  commit: string;
  sagas: number;
  clientMs: number;
  hops: { hop: string; callerMs: number; calleeMs: number }[];
  commits: { process: string; perSaga: number; ms: number | null }[];
}

describe("npm run bench:budget", () => {
  it("ends with one JSON line: each call's caller and callee time, each database's commits", { timeout: 120_000 }, async () => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", "bench/latency-budget.ts", "--sagas", "5", "--warmup", "5"], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
      timeout: 110_000,
    });
    const line = JSON.parse(stdout.trimEnd().split("\n").at(-1)!) as BudgetLine;
    expect(line).toMatchObject({ bench: "tp-saga-budget", sagas: 5 });
    expect(line.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(line.hops.map((h) => h.hop.split(" ")[0])).toEqual([
      "POST",
      "StartSaga",
      "PriceOrder",
      "AuthorizePayment",
      "ProcessPurchase",
      "ReserveStock",
      "CapturePayment",
      "ConfirmPurchase",
      "CommitStock",
    ]);
    // Every call was seen by both ends, and a caller never waits less than its callee works.
    for (const h of line.hops) {
      expect(h.calleeMs, h.hop).toBeGreaterThan(0);
      expect(h.callerMs, h.hop).toBeGreaterThan(h.calleeMs);
    }
    // Each service that writes commits its action and its confirmation (two writes per saga; a
    // commit may carry a write of the next saga too), the orchestrator created, decided and
    // completed (the last may land after the final scrape); the catalog only reads.
    const perSaga = Object.fromEntries(line.commits.map((c) => [c.process, c.perSaga]));
    expect(perSaga.catalog).toBe(0);
    for (const name of ["payments", "purchases", "inventory"]) {
      expect(perSaga[name], name).toBeGreaterThan(0);
      expect(perSaga[name], name).toBeLessThanOrEqual(2);
    }
    expect(perSaga.orchestrator).toBeGreaterThan(0);
    expect(perSaga.orchestrator).toBeLessThanOrEqual(3);
  });
});
