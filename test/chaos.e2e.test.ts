import { describe, expect, it } from "vitest";
import { chaosFailed, formatSummary, runChaos } from "../chaos/chaos.js";
import { PROCESSES } from "../system/processes.js";

// "Prove it under faults": a short chaos run over the six real processes. Every process is
// SIGKILLed and restarted at least once, every fault kind (dropped connection, reply delayed
// past the deadline, reply lost after the service applied the call, request arriving after
// its caller gave up) hits the orchestrator's calls, demo
// failures are on; once faults stop, nothing may be lost and no invariant may break.
describe("chaos: kills, dropped connections, late and lost replies", () => {
  it(
    "loses no saga and breaks no invariant",
    async () => {
      const summary = await runChaos({
        sagas: 240,
        concurrency: 16,
        seed: Number(process.env.CHAOS_SEED ?? 20_260_101),
        durationMs: 40_000,
        kills: 7,
        quiescenceMs: 30_000,
        log: (line) => void process.stderr.write(`[chaos] ${line}\n`),
      });
      process.stderr.write(`${formatSummary(summary)}\n`);

      expect(summary.violations).toEqual([]);
      expect(summary.lost).toEqual([]);
      expect(summary.sagasLost).toBe(0);
      expect(chaosFailed(summary)).toBe(false);
      // The chaos really happened.
      for (const p of PROCESSES) expect(summary.kills[p.name], `kills of ${p.name}`).toBeGreaterThanOrEqual(1);
      expect(summary.faults.drop).toBeGreaterThan(0);
      expect(summary.faults.delay).toBeGreaterThan(0);
      expect(summary.faults.lostReply).toBeGreaterThan(0);
      expect(summary.faults.lateRequest).toBeGreaterThan(0);
      // And the system answered: almost every saga was acknowledged, and each outcome occurred.
      expect(summary.acknowledged).toBeGreaterThanOrEqual(summary.sagas * 0.95);
      expect(summary.byStatus.COMPLETED ?? 0).toBeGreaterThan(0);
      expect(summary.byStatus.COMPENSATED ?? 0).toBeGreaterThan(0);
    },
    170_000,
  );
});
