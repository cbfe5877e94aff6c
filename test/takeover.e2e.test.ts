/**
 * Take-over, with real processes: three orchestrator replicas on one PostgreSQL saga log, more
 * than a hundred sagas in flight (the services answer each action after 1–2 s), then `kill -9`
 * of one replica. The others must take its sagas over (the test prints how long that took), and
 * every saga must end, once, with the invariants holding from every service's state.
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

// A manual run takes more: TAKEOVER_SAGAS=1000 TAKEOVER_LATENCY_MS=8000-12000 npx vitest run test/takeover.e2e.test.ts
const SAGAS = Number(process.env.TAKEOVER_SAGAS ?? 150);
const LATENCY_MS = process.env.TAKEOVER_LATENCY_MS ?? "1000-2000";
const LEASE_MS = 1_500;

describe("take-over of a killed orchestrator's sagas", () => {
  let t: TestCluster;

  beforeAll(async () => {
    t = await startTestCluster({
      orchestrators: 3,
      serviceReplicas: 2,
      // SAGA_WAIT_MS=0: POST /saga answers once the saga is started, so all of them are in flight at once.
      env: {
        DEMO_LATENCY_MS: LATENCY_MS,
        // Each call's deadline above the slowest answer, so that every saga meant to succeed does.
        STEP_TIMEOUT_MS: String(Number(LATENCY_MS.split("-")[1]) + 3_000),
        SAGA_WAIT_MS: "0",
        LEASE_MS: String(LEASE_MS),
      },
    });
  }, 240_000);

  afterAll(() => t?.close(), 60_000);

  it("the survivors take them over, every saga ends once, the invariants hold", async () => {
    const ids = await startSagas(t.cluster.gatewayUrl, SAGAS, "takeover");
    expect(new Set(ids).size).toBe(SAGAS);

    const before = await unfinishedByOwner(t.log);
    const inFlight = [...before.values()].reduce((a, b) => a + b, 0);
    const victim = "orchestrator-1";
    const victims = before.get(victim) ?? 0;
    expect(inFlight).toBeGreaterThanOrEqual(100);
    expect(victims).toBeGreaterThan(0);

    const killedAt = Date.now();
    await t.cluster.replica(victim).system.kill("orchestrator", "SIGKILL");
    const takenOver = await waitFor(async () => ((await unfinishedByOwner(t.log)).get(victim) ?? 0) === 0, 30_000);
    const takeOverMs = Date.now() - killedAt;
    console.log(
      `take-over: ${victims} unfinished sagas of ${victim} (of ${inFlight} in flight) owned by the survivors ${takeOverMs} ms after its kill -9 (LEASE_MS ${LEASE_MS})`,
    );
    expect(takenOver).toBe(true);

    expect(await waitUntilAllEnded(t.log, 120_000)).toBe(0);
    expect(await logFaults(t.log)).toEqual([]);
    const report = await invariants(t);
    console.log(`take-over: ${report.sagas} sagas ${JSON.stringify(report.byStatus)}, ${report.violations.length} violations`);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(SAGAS);
    expect((report.byStatus.COMPLETED ?? 0) + (report.byStatus.COMPENSATED ?? 0)).toBe(SAGAS);
    expect(report.byStatus.COMPENSATED ?? 0).toBe(SAGAS / 10);
  }, 300_000);
});
