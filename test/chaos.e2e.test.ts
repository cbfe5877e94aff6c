import { describe, expect, it } from "vitest";
import { chaosFailed, formatSummary, runChaos, type ChaosSummary } from "../chaos/chaos.js";
import { PROCESSES } from "../system/processes.js";

// "Prove it under faults": short chaos runs over the six real processes. Every process is
// SIGKILLed and restarted at least once, every fault kind (dropped connection, reply delayed
// past the deadline, reply lost after the service applied the call, request arriving after
// its caller gave up) hits the orchestrator's calls, demo failures are on; once faults stop,
// nothing may be lost, no invariant may break, and every saga sent must have been answered.
// One run with DURABILITY=process (the default), a shorter one with DURABILITY=power.
function expectClean(summary: ChaosSummary): void {
  expect(summary.violations).toEqual([]);
  expect(summary.lost).toEqual([]);
  expect(summary.sagasLost).toBe(0);
  expect(summary.unacknowledgedByFate).toEqual({});
  expect(summary.unacknowledged).toBe(0);
  expect(summary.boundReached).toBe(false);
  expect(chaosFailed(summary)).toBe(false);
  // The chaos really happened.
  for (const p of PROCESSES) expect(summary.kills[p.name], `kills of ${p.name}`).toBeGreaterThanOrEqual(1);
  // And the system answered: every saga was acknowledged, and each outcome occurred.
  expect(summary.acknowledged).toBe(summary.sagas);
  expect(summary.byStatus.COMPLETED ?? 0).toBeGreaterThan(0);
  expect(summary.byStatus.COMPENSATED ?? 0).toBeGreaterThan(0);
}

describe("chaos: kills, dropped connections, late and lost replies", () => {
  it("loses no saga, leaves none unanswered and breaks no invariant", async () => {
    const summary = await runChaos({
      sagas: 240,
      concurrency: 16,
      seed: Number(process.env.CHAOS_SEED ?? 20_260_101),
      durationMs: 40_000,
      kills: 7,
      quiescenceMs: 30_000,
      // Below the test's timeout, so that a slow run fails with its summary.
      runBoundMs: 200_000,
      log: (line) => void process.stderr.write(`[chaos] ${line}\n`),
    });
    process.stderr.write(`${formatSummary(summary)}\n`);
    expectClean(summary);
    expect(summary.faults.drop).toBeGreaterThan(0);
    expect(summary.faults.delay).toBeGreaterThan(0);
    expect(summary.faults.lostReply).toBeGreaterThan(0);
    expect(summary.faults.lateRequest).toBeGreaterThan(0);
  }, 240_000);

  it("with DURABILITY=power: loses no saga, leaves none unanswered and breaks no invariant", async () => {
    const summary = await runChaos({
      sagas: 120,
      concurrency: 16,
      seed: Number(process.env.CHAOS_SEED ?? 20_260_102),
      durationMs: 24_000,
      kills: 6,
      quiescenceMs: 30_000,
      durability: "power",
      runBoundMs: 170_000,
      log: (line) => void process.stderr.write(`[chaos power] ${line}\n`),
    });
    process.stderr.write(`${formatSummary(summary)}\n`);
    // Every process that keeps data said it ran with power.
    expect(summary.durabilityByProcess).toEqual({
      catalog: "power",
      payments: "power",
      purchases: "power",
      inventory: "power",
      orchestrator: "power",
    });
    expectClean(summary);
    expect(Object.values(summary.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  }, 210_000);
});
