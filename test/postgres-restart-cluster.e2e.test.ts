/**
 * A PostgreSQL restart in the middle of a run, with real processes: two orchestrator replicas
 * (and the services, once they keep their stores there) on a PRIVATE server, sagas in flight,
 * then the server is stopped and started again. The sagas wait for it and go on: none is lost,
 * none is compensated because of it, and the invariants hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invariants, logFaults, startSagas, startTestCluster, unfinishedByOwner, waitUntilAllEnded, type TestCluster } from "./cluster-harness.js";
import { startPrivatePostgres, type PrivatePostgres } from "./private-postgres.js";

const SAGAS = 100;

describe("PostgreSQL restarted mid-run", () => {
  let server: PrivatePostgres;
  let t: TestCluster;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    t = await startTestCluster({
      adminUrl: server.adminUrl,
      orchestrators: 2,
      serviceReplicas: 1,
      env: { DEMO_LATENCY_MS: "500-1500", SAGA_WAIT_MS: "0" },
    });
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    server?.stop();
  }, 60_000);

  it("loses nothing and compensates nothing", async () => {
    const ids = await startSagas(t.cluster.gatewayUrl, SAGAS, "pg-restart", false);
    expect(new Set(ids).size).toBe(SAGAS);
    const inFlight = [...(await unfinishedByOwner(t.log)).values()].reduce((a, b) => a + b, 0);
    expect(inFlight).toBeGreaterThan(0);

    const t0 = Date.now();
    server.restart();
    console.log(`postgres restart: ${inFlight} sagas in flight; the server was back ${Date.now() - t0} ms after the stop began`);

    expect(await waitUntilAllEnded(t.log, 180_000)).toBe(0);
    // The orchestrators did meet the outage (else this test would prove nothing).
    const warnings = t.cluster.replicas
      .filter((r) => r.process === "orchestrator")
      .flatMap((r) => t.lines(r.label).filter((l) => /"level":(40|50)/.test(l)))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    console.log(`postgres restart: the orchestrators logged ${warnings.length} warnings: ${[...new Set(warnings)].join(" | ")}`);
    expect(warnings.length).toBeGreaterThan(0);
    expect(await logFaults(t.log)).toEqual([]);
    const report = await invariants(t);
    console.log(`postgres restart: ${report.sagas} sagas ${JSON.stringify(report.byStatus)}, ${report.violations.length} violations`);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(SAGAS);
    expect(report.byStatus).toEqual({ COMPLETED: SAGAS });
  }, 300_000);
});
