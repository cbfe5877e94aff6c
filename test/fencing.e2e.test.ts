/**
 * Fencing, with real processes: one of three orchestrator replicas is paused (SIGSTOP) with its
 * sagas in flight, for three times its lease; the others take its sagas over; then it is woken
 * (SIGCONT) with its old calls' answers arriving and its timers firing. It must notice that the
 * sagas are no longer its own and stop driving them: no write of the stale owner lands in the
 * log, every saga ends once, and the invariants hold from every service's state.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  invariants,
  logFaults,
  startSagas,
  startTestCluster,
  unfinishedByOwner,
  waitFor,
  waitUntilAllEnded,
  type TestCluster,
} from "./cluster-harness.js";

const SAGAS = 120;
const LEASE_MS = 1_500;

describe("a paused orchestrator replica wakes up fenced", () => {
  let t: TestCluster;

  beforeAll(async () => {
    t = await startTestCluster({
      orchestrators: 3,
      serviceReplicas: 2,
      env: { DEMO_LATENCY_MS: "1000-2000", SAGA_WAIT_MS: "0", LEASE_MS: String(LEASE_MS) },
    });
  }, 240_000);

  afterAll(async () => {
    // Never leave a stopped process behind, whatever failed.
    const pid = t?.cluster.replica("orchestrator-1").system.pid("orchestrator");
    if (pid !== undefined) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        /* already gone */
      }
    }
    await t?.close();
  }, 60_000);

  it("stops driving what was taken over: no stale write lands, every saga ends once, the invariants hold", async () => {
    const ids = await startSagas(t.cluster.gatewayUrl, SAGAS, "fencing");
    expect(new Set(ids).size).toBe(SAGAS);
    const stale = "orchestrator-1";
    const owned = (await unfinishedByOwner(t.log)).get(stale) ?? 0;
    expect(owned).toBeGreaterThan(0);

    const pid = t.cluster.replica(stale).system.pid("orchestrator")!;
    const fencedBefore = t.lines(stale).filter((l) => l.includes("taken over by another replica")).length;
    const stoppedAt = Date.now();
    process.kill(pid, "SIGSTOP");
    try {
      const takenOver = await waitFor(async () => ((await unfinishedByOwner(t.log)).get(stale) ?? 0) === 0, 30_000);
      expect(takenOver).toBe(true);
      const takeOverMs = Date.now() - stoppedAt;
      // Stay stopped well past the lease, so its calls' answers and its timers are all late.
      await new Promise((r) => setTimeout(r, Math.max(0, 3 * LEASE_MS - takeOverMs)));
      console.log(
        `fencing: ${owned} unfinished sagas of the paused ${stale} taken over ${takeOverMs} ms after SIGSTOP; SIGCONT after ${Date.now() - stoppedAt} ms`,
      );
    } finally {
      process.kill(pid, "SIGCONT");
    }

    // Woken, it finds out (a refused write or a renewal that no longer returns them) and lets them go.
    const noticed = await waitFor(
      async () => t.lines(stale).filter((l) => l.includes("taken over by another replica")).length > fencedBefore,
      30_000,
    );
    expect(noticed).toBe(true);

    // It is a working replica again: new sagas through the gateway, some of them to it.
    const more = await startSagas(t.cluster.gatewayUrl, 30, "after-wake");
    expect(new Set(more).size).toBe(30);

    expect(await waitUntilAllEnded(t.log, 120_000)).toBe(0);
    const fenced = t.lines(stale).filter((l) => l.includes("taken over by another replica")).length - fencedBefore;
    console.log(`fencing: after SIGCONT, ${stale} stopped driving ${fenced} sagas it no longer owned`);
    const faults = await logFaults(t.log);
    console.log(`fencing: saga log faults: ${faults.length}`);
    expect(faults).toEqual([]);
    const report = await invariants(t);
    console.log(`fencing: ${report.sagas} sagas ${JSON.stringify(report.byStatus)}, ${report.violations.length} violations`);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(SAGAS + 30);
    expect((report.byStatus.COMPLETED ?? 0) + (report.byStatus.COMPENSATED ?? 0)).toBe(SAGAS + 30);
  }, 300_000);
});
