/**
 * The saga log's server goes away in the middle of a run and comes back: the sagas wait for it
 * and go on, none is compensated because of it, and health says NOT_SERVING meanwhile. The
 * server is a private PostgreSQL cluster this file creates (initdb) and stops and starts
 * (pg_ctl) on a free port, never the machine's shared one.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { watchStoreHealth } from "#platform/store-health-watch.js";
import { createLogger } from "#platform/logger.js";
import { startPrivatePostgres, type PrivatePostgres } from "#platform/postgres-test-server.js";
import { PostgresSagaStore } from "./postgres-saga-store.js";
import { createRunner, type Runner, type RunnerLog } from "./runner.js";
import { defineSaga, step } from "./saga.js";

let server: PrivatePostgres;
let url: string;

beforeAll(async () => {
  server = await startPrivatePostgres();
  url = server.adminUrl;
}, 180_000);

afterAll(async () => {
  await server?.stop();
}, 180_000);

const STEPS = ["price", "charge", "record", "take"] as const;

describe("the saga log's server lost in the middle of a run", () => {
  it("keeps the sagas waiting and drives them on when it is back: none compensated, each step applied once", async () => {
    const applied = new Map<string, number>();
    const undone: string[] = [];
    const store = await PostgresSagaStore.open({ connectionString: url, connectAttempts: 5, writeRetries: 2 });
    const health: boolean[] = [];
    const probe = watchStoreHealth(store, 100, { setServing: (serving) => void health.push(serving) }, createLogger("outage-test", "silent"));
    const warnings: string[] = [];
    const log: RunnerLog = { info() {}, error() {}, warn: (_f, m) => void warnings.push(m ?? "") };
    const retry = { maxAttempts: 1_000, initialDelayMs: 10, maxDelayMs: 100, timeoutMs: 60_000 };
    let runner: Runner | undefined;
    try {
      runner = createRunner({
        store,
        definitions: [
          defineSaga(
            "order",
            1,
            STEPS.map((name, i) =>
              step<{ n: number }>(
                name,
                async (ctx) => {
                  await new Promise((r) => setTimeout(r, 100)); // each call takes a while: sagas are in flight when the server goes
                  if (!applied.has(ctx.key)) applied.set(ctx.key, 1);
                  return { name };
                },
                {
                  retry,
                  compensationRetry: { ...retry, attentionAfter: 1_000 },
                  confirmationRetry: { ...retry, attentionAfter: 1_000 },
                  ...(i > 0 && {
                    compensate: async (ctx) => void undone.push(ctx.key),
                    confirm: async () => {},
                  }),
                },
              ),
            ),
            { deadlineMs: 600_000 },
          ),
        ],
        isRetryable: () => true,
        describeError: (e) => ({ code: "UNAVAILABLE", message: String(e) }),
        log,
        ownership: { port: store, replicaId: "replica-outage", leaseMs: 1_500 },
      });
      await runner.resumePending();
      const started = await Promise.all(
        Array.from({ length: 40 }, (_, n) => runner!.start("order", { idempotencyKey: `outage-${n}`, input: { n } })),
      );
      await new Promise((r) => setTimeout(r, 150));
      await server.halt();
      const stoppedAt = Date.now();
      // Away for longer than the store's own write retries and than a lease.
      while (Date.now() - stoppedAt < 4_000) await new Promise((r) => setTimeout(r, 100));
      expect(health).toContain(false);
      await server.resume();
      const backAt = Date.now();
      const done = await Promise.all(started.map(({ saga }) => runner!.wait(saga.sagaId, 90_000, "terminal")));
      expect(done.map((s) => s?.status)).toEqual(started.map(() => "COMPLETED"));
      const finishedMs = Date.now() - backAt;
      expect(undone).toEqual([]);
      for (const { saga } of started) for (const name of STEPS) expect(applied.get(`${saga.sagaId}:${name}`)).toBe(1);
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        const { rows } = await admin.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM saga GROUP BY status");
        expect(rows).toEqual([{ status: "COMPLETED", n: 40 }]);
        const turned = await admin.query("SELECT 1 FROM saga_event WHERE status = 'COMPENSATING' LIMIT 1");
        expect(turned.rowCount).toBe(0);
      } finally {
        await admin.end();
      }
      // The failed writes were read back and driven on, not parked until a restart.
      expect(warnings.some((w) => w.includes("read back from the log"))).toBe(true);
      const until = Date.now() + 10_000;
      while (health[health.length - 1] !== true && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(health).toEqual([false, true]);
      console.log(
        `outage: 40 sagas in flight, the server stopped for ${backAt - stoppedAt} ms; all COMPLETED ${finishedMs} ms after it was back, 0 compensated; health ${health.map((h) => (h ? "SERVING" : "NOT_SERVING")).join(" → ")}`,
      );
    } finally {
      probe.stop();
      await runner?.close();
      await store.close();
    }
  }, 240_000);
});
