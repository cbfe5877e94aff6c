import { describe, expect, it } from "vitest";
import { chaosFailed, formatSummary, runChaos } from "../chaos/chaos.js";
import { testPostgresAdminUrl } from "../platform/postgres-test-database.js";

// The chaos run scaled out: the saga log on PostgreSQL (databases of the run's own, dropped
// after a clean run), three orchestrator replicas behind the gateway, and every one of them
// SIGKILLed at least once beside the services and the gateway, with the fault proxies on. Once
// faults stop, nothing may be lost, no invariant may break, and every saga must be answered.
describe("chaos on PostgreSQL with three orchestrator replicas", () => {
  it("kills replicas as well as services: loses no saga, leaves none unanswered and breaks no invariant", async () => {
    const summary = await runChaos({
      sagas: 180,
      concurrency: 16,
      seed: Number(process.env.CHAOS_SEED ?? 20_261_130),
      durationMs: 30_000,
      kills: 9,
      quiescenceMs: 30_000,
      postgresAdminUrl: testPostgresAdminUrl(),
      orchestrators: 3,
      runBoundMs: 200_000,
      log: (line) => void process.stderr.write(`[chaos cluster] ${line}\n`),
    });
    process.stderr.write(`${formatSummary(summary)}\n`);
    expect(summary.violations).toEqual([]);
    expect(summary.lost).toEqual([]);
    expect(summary.unacknowledged).toBe(0);
    expect(summary.boundReached).toBe(false);
    expect(chaosFailed(summary)).toBe(false);
    expect(summary.orchestrators).toBe(3);
    expect(summary.postgres).toBeDefined();
    for (const target of ["orchestrator", "orchestrator-2", "orchestrator-3", "catalog", "payments", "purchases", "inventory", "gateway"])
      expect(summary.kills[target], `kills of ${target}`).toBeGreaterThanOrEqual(1);
    expect(summary.acknowledged).toBe(summary.sagas);
    expect(summary.byStatus.COMPLETED ?? 0).toBeGreaterThan(0);
    expect(summary.byStatus.COMPENSATED ?? 0).toBeGreaterThan(0);
  }, 240_000);
});
