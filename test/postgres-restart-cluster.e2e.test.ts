/**
 * A PostgreSQL restart in the middle of a run, with real processes: two orchestrator replicas
 * (and the services, once they keep their stores there) on a PRIVATE server, sagas in flight,
 * then the server is stopped and started again. The sagas wait for it and go on: none is lost,
 * none is compensated because of it, and the invariants hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invariants, logFaults, startSagas, startTestCluster, unfinishedByOwner, waitUntilAllEnded, type TestCluster } from "./cluster-harness.js";
import { startPrivatePostgres, type PrivatePostgres } from "#platform/postgres-test-server.js";

const SAGAS = 100;

describe("PostgreSQL restarted mid-run", () => {
  let server: PrivatePostgres;
  let t: TestCluster;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    t = await startTestCluster({
      adminUrl: server.adminUrl,
      orchestrators: 2,
      serviceReplicas: 2,
      env: { DEMO_LATENCY_MS: "500-1500", SAGA_WAIT_MS: "0" },
    });
  }, 240_000);

  afterAll(async () => {
    await t?.close();
    await server?.stop();
  }, 60_000);

  it("loses nothing and compensates nothing", async () => {
    const ids = await startSagas(t.cluster.gatewayUrl, SAGAS, "pg-restart", false);
    expect(new Set(ids).size).toBe(SAGAS);
    const inFlight = [...(await unfinishedByOwner(t.log)).values()].reduce((a, b) => a + b, 0);
    expect(inFlight).toBeGreaterThan(0);

    const t0 = Date.now();
    await server.restart();
    console.log(`postgres restart: ${inFlight} sagas in flight; the server was back ${Date.now() - t0} ms after the stop began`);

    const stuck = await waitUntilAllEnded(t.log, 90_000);
    if (stuck > 0) {
      // What is left, to see why: each unfinished saga's owner and last events, and every replica's warnings.
      const left = await t.log.query<{ saga_id: string; status: string; owner: string | null; events: string }>(
        `SELECT s.saga_id, s.status, s.owner,
                (SELECT string_agg(e.sequence || ' ' || e.kind || ' ' || coalesce(e.step, '') || ' ' || coalesce(e.error_code, ''), ' | ' ORDER BY e.sequence)
                 FROM saga_event e WHERE e.saga_id = s.saga_id) AS events
         FROM saga s WHERE s.status = ANY($1::text[])`,
        [["RUNNING", "CONFIRMING", "COMPENSATING"]],
      );
      for (const r of left.rows) console.log(`postgres restart: unfinished ${r.saga_id} ${r.status} owner ${r.owner}: ${r.events}`);
      for (const r of t.cluster.replicas)
        for (const l of t
          .lines(r.label)
          .filter((x) => /"level":(40|50)/.test(x))
          .slice(-8))
          console.log(`postgres restart: [${r.label}] ${l.slice(0, 400)}`);
    }
    expect(stuck).toBe(0);
    // The orchestrators did meet the outage (else this test would prove nothing).
    const warnings = t.cluster.replicas
      .filter((r) => r.process === "orchestrator")
      .flatMap((r) => t.lines(r.label).filter((l) => /"level":(40|50)/.test(l)))
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    console.log(`postgres restart: the orchestrators logged ${warnings.length} warnings: ${[...new Set(warnings)].join(" | ")}`);
    expect(warnings.length).toBeGreaterThan(0);
    expect(await logFaults(t.log)).toEqual([]);
    // Why a saga was compensated, if one was: its failed steps and errors.
    const failures = await t.log.query<{ kind: string; step: string | null; error_code: string | null; error_message: string | null; n: string }>(
      `SELECT e.kind, e.step, e.error_code, min(e.error_message) AS error_message, count(*) AS n
       FROM saga_event e JOIN saga s USING (saga_id)
       WHERE s.status = 'COMPENSATED' AND (e.error_code IS NOT NULL OR e.kind = 'saga-deadline-exceeded')
       GROUP BY e.kind, e.step, e.error_code`,
    );
    for (const f of failures.rows)
      console.log(`postgres restart: in compensated sagas, ${f.n} × ${f.kind} ${f.step ?? ""}: ${f.error_code ?? ""} ${f.error_message ?? ""}`);
    const report = await invariants(t);
    console.log(`postgres restart: ${report.sagas} sagas ${JSON.stringify(report.byStatus)}, ${report.violations.length} violations`);
    expect(report.violations).toEqual([]);
    expect(report.sagas).toBe(SAGAS);
    expect(report.byStatus).toEqual({ COMPLETED: SAGAS });
  }, 300_000);
});
