import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runSimulation, type SimulationReport } from "./simulation.js";
import { SqliteSagaStore } from "./sql-saga-store.js";

// SIM_SEED=… reruns a failing seed exactly; the CLI (simulate.ts) does the long runs.
// Each run is CPU-bound: on a shared two-core machine it may take many times its usual
// second or two, so the slices get room beyond the suite's default timeout.
const SLICE_TIMEOUT_MS = 180_000;
const seed = Number(process.env["SIM_SEED"] ?? 20_240_601);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saga-sim-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function withoutTiming(r: SimulationReport): Omit<SimulationReport, "elapsedMs"> {
  const { elapsedMs: _, ...rest } = r;
  return rest;
}

describe("seeded simulation", () => {
  const crashKinds = new Set<string>();

  it(
    "keeps every invariant over thousands of sagas with every fault, on the in-memory store",
    async () => {
      for (const s of [seed, seed + 1]) {
        const report = await runSimulation({ seed: s, sagas: 3_000, concurrency: 40, faults: { stall: 0.0003 } });
        expect(report.violations, `rerun with SIM_SEED=${s}`).toEqual([]);
        expect(report.completed + report.compensated + report.resolved).toBe(3_000);
        for (const k of Object.keys(report.crashedAt)) crashKinds.add(k);
        // Every fault actually happened, so the invariants were tested against it.
        expect(report.crashes).toBeGreaterThan(10);
        expect(report.lostReplies).toBeGreaterThan(0);
        expect(report.duplicateDeliveries).toBeGreaterThan(0);
        expect(report.delayedDeliveries).toBeGreaterThan(0);
        expect(report.operatorRetries).toBeGreaterThan(0);
        expect(report.deadlineCompensations + report.unknownOutcomeCompensations).toBeGreaterThan(0);
        expect(report.resentStarts).toBeGreaterThan(0);
        expect(report.duplicateStarts).toBeGreaterThan(0);
        expect(report.decided).toBeGreaterThanOrEqual(report.completed);
        expect(report.confirmationsApplied).toBeGreaterThanOrEqual(report.completed * 3);
        expect(report.confirmationsExhausted).toBeGreaterThan(0);
        expect(report.forcedCompensations).toBeGreaterThan(0);
        expect(report.forcedRefused).toBeGreaterThan(0);
        expect(report.resolved).toBeGreaterThan(0);
      }
    },
    SLICE_TIMEOUT_MS,
  );

  it(
    "keeps every invariant on a SQLite file that is closed and reopened at every crash",
    async () => {
      const file = path.join(dir, "sim.db");
      const report = await runSimulation({
        seed,
        sagas: 1_000,
        concurrency: 40,
        openStore: () => new SqliteSagaStore(file),
        reopenOnCrash: true,
      });
      expect(report.violations, `rerun with SIM_SEED=${seed}`).toEqual([]);
      expect(report.completed + report.compensated + report.resolved).toBe(1_000);
      expect(report.crashes).toBeGreaterThan(5);
      for (const k of Object.keys(report.crashedAt)) crashKinds.add(k);
    },
    SLICE_TIMEOUT_MS,
  );

  it(
    "keeps every invariant with three replicas on one log, paused past their leases and crashed at random",
    async () => {
      for (const s of [seed, seed + 1]) {
        const report = await runSimulation({ seed: s, sagas: 3_000, concurrency: 40, replicas: 3, faults: { pause: 0.02 } });
        expect(report.violations, `rerun with SIM_SEED=${s}`).toEqual([]);
        expect(report.completed + report.compensated + report.resolved).toBe(3_000);
        // The faults that make ownership matter actually happened.
        expect(report.pauses).toBeGreaterThan(0);
        expect(report.crashes).toBeGreaterThan(0);
        expect(report.replicaLives).toBeGreaterThan(3);
        expect(report.takeovers).toBeGreaterThan(0);
        expect(report.fencedWrites).toBeGreaterThan(0);
        expect(report.duplicateStarts).toBeGreaterThan(0);
        expect(report.forcedCompensations).toBeGreaterThan(0);
        expect(report.operatorRetries).toBeGreaterThan(0);
      }
    },
    SLICE_TIMEOUT_MS,
  );

  it(
    "reproduces a replica run exactly from its seed",
    async () => {
      const a = await runSimulation({ seed: seed + 9, sagas: 400, concurrency: 40, replicas: 3, faults: { pause: 0.02 } });
      const b = await runSimulation({ seed: seed + 9, sagas: 400, concurrency: 40, replicas: 3, faults: { pause: 0.02 } });
      expect(withoutTiming(b)).toEqual(withoutTiming(a));
    },
    SLICE_TIMEOUT_MS,
  );

  it("has crashed at each kind of transition", () => {
    const kinds = ["saga-created", "step-started", "step-succeeded", "step-attempt-failed", "saga-decided", "confirmation-started"];
    for (const kind of [...kinds, "confirmation-succeeded", "confirmation-attempt-failed", "saga-completed"]) {
      expect(crashKinds, kind).toContain(kind);
    }
  });

  it(
    "reproduces a run exactly from its seed",
    async () => {
      const a = await runSimulation({ seed: seed + 7, sagas: 400, concurrency: 40 });
      const b = await runSimulation({ seed: seed + 7, sagas: 400, concurrency: 40 });
      expect(withoutTiming(b)).toEqual(withoutTiming(a));
      const c = await runSimulation({ seed: seed + 8, sagas: 400, concurrency: 40 });
      expect(withoutTiming(c)).not.toEqual(withoutTiming(a));
    },
    SLICE_TIMEOUT_MS,
  );
});
