/**
 * Runners as replicas on one PostgreSQL saga log, in one process: each runner has its own
 * store (its own pool), as separate processes would. A replica "dies" by no longer renewing
 * and abandoning its calls; one is "paused" by freezing its renewals and holding its calls,
 * then let go. The services are idempotent fakes that count what took effect.
 */
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../platform/postgres-test-database.js";
import { PostgresSagaStore } from "./postgres-saga-store.js";
import { createRunner, type Runner, type RunnerLog } from "./runner.js";
import { defineSaga, step } from "./saga.js";
import { isTerminal } from "./saga-record.js";

let database: TestDatabase;
let admin: pg.Client;
const stores: PostgresSagaStore[] = [];
const runners: Runner[] = [];

beforeAll(async () => {
  database = await createTestDatabase("postgres_replicas_test");
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const first = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
  await first.close();
});
/** Each test's replicas stop with it, so none drives the next test's sagas. */
afterEach(async () => {
  await Promise.allSettled(runners.splice(0).map((r) => r.close()));
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await admin?.end();
  await database?.drop();
});
beforeEach(async () => {
  await admin.query("TRUNCATE saga, saga_event");
});

/** Idempotent fake services: what each key did, counted once per key as a real service records it. */
class Services {
  readonly applied = new Map<string, number>();
  readonly undone = new Map<string, number>();
  readonly confirmed = new Map<string, number>();
  apply(key: string): void {
    if (!this.applied.has(key)) this.applied.set(key, 1);
  }
  undo(key: string): void {
    if (!this.undone.has(key)) this.undone.set(key, 1);
  }
  confirm(key: string): void {
    if (!this.confirmed.has(key)) this.confirmed.set(key, 1);
  }
}

const STEPS = ["price", "charge", "record", "take"] as const;

/** What a replica's calls wait for before they are sent (a paused process), or forever (a dead one). */
interface Hold {
  promise: Promise<void> | undefined;
}

function definition(services: Services, hold: Hold, calls: { count: number }) {
  const wait = async (): Promise<void> => {
    while (hold.promise) await hold.promise;
  };
  const retry = { maxAttempts: 5, initialDelayMs: 5, maxDelayMs: 50, timeoutMs: 60_000 };
  return defineSaga(
    "order",
    1,
    STEPS.map((name, i) =>
      step<{ n: number }>(
        name,
        async (ctx) => {
          await wait();
          calls.count++;
          services.apply(ctx.key);
          return { step: name };
        },
        {
          retry,
          compensationRetry: { ...retry, attentionAfter: 5 },
          confirmationRetry: { ...retry, attentionAfter: 5 },
          ...(i > 0 && {
            compensate: async (ctx) => {
              await wait();
              services.undo(ctx.key);
            },
            confirm: async (ctx) => {
              await wait();
              services.confirm(ctx.key);
            },
          }),
        },
      ),
    ),
    { deadlineMs: 600_000 },
  );
}

/** A log that keeps the warnings (fencing is logged there). */
function recordingLog(): RunnerLog & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, error() {}, warn: (_fields, message) => void warnings.push(message ?? "") };
}

interface Replica {
  runner: Runner;
  store: PostgresSagaStore;
  hold: Hold;
  calls: { count: number };
  log: ReturnType<typeof recordingLog>;
}

async function replica(id: string, services: Services, options: { timers: boolean; leaseMs?: number }): Promise<Replica> {
  const store = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
  stores.push(store);
  const hold: Hold = { promise: undefined };
  const calls = { count: 0 };
  const log = recordingLog();
  const runner = createRunner({
    store,
    definitions: [definition(services, hold, calls)],
    isRetryable: () => true,
    describeError: (e) => ({ code: "UNAVAILABLE", message: String(e) }),
    log,
    ownership: { port: store, replicaId: id, leaseMs: options.leaseMs ?? 1_500, claimEveryMs: 250, timers: options.timers },
    changeFeed: await store.openChangeFeed(),
  });
  runners.push(runner);
  await runner.resumePending();
  return { runner, store, hold, calls, log };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function statuses(): Promise<Map<string, string>> {
  const { rows } = await admin.query<{ saga_id: string; status: string }>("SELECT saga_id, status FROM saga");
  return new Map(rows.map((r) => [r.saga_id, r.status]));
}

/** Every saga COMPLETED, each step applied and confirmed exactly once and never undone, and its log showing each transition once. */
async function expectEachCompletedOnce(sagaIds: string[], services: Services): Promise<void> {
  const now = await statuses();
  for (const id of sagaIds) {
    expect(now.get(id), id).toBe("COMPLETED");
    for (const name of STEPS) {
      expect(services.applied.get(`${id}:${name}`), `${id}:${name} applied`).toBe(1);
      if (name !== "price") expect(services.confirmed.get(`${id}:${name}`), `${id}:${name} confirmed`).toBe(1);
      expect(services.undone.has(`${id}:${name}`), `${id}:${name} undone`).toBe(false);
    }
  }
  const { rows } = await admin.query<{ saga_id: string; kind: string; step: string | null; n: number }>(
    "SELECT saga_id, kind, step, count(*)::int AS n FROM saga_event WHERE kind IN ('step-succeeded', 'saga-decided', 'saga-completed', 'confirmation-succeeded') GROUP BY 1, 2, 3",
  );
  for (const r of rows) expect(r.n, `${r.saga_id} ${r.kind} ${r.step ?? ""}`).toBe(1);
}

describe("replicas on one PostgreSQL saga log", () => {
  it("takes a dead replica's sagas over and finishes them, each step applied once", async () => {
    const services = new Services();
    const dying = await replica("replica-dying", services, { timers: false });
    const b = await replica("replica-b", services, { timers: true });
    const c = await replica("replica-c", services, { timers: true });
    // The dying replica's calls never come back: it is as good as dead once it stops renewing.
    dying.hold.promise = new Promise(() => {});
    const started = await Promise.all(
      Array.from({ length: 120 }, (_, n) => dying.runner.start("order", { idempotencyKey: `order-${n}`, input: { n } })),
    );
    const ids = started.map((s) => s.saga.sagaId);
    expect(started.every((s) => s.created)).toBe(true);
    await dying.runner.renewLeases();
    const diedAt = Date.now(); // its last renewal: from here on nobody renews its leases
    await until("the others to claim every saga", async () => {
      const { rows } = await admin.query<{ n: number }>("SELECT count(*)::int AS n FROM saga WHERE owner = 'replica-dying'");
      return rows[0]!.n === 0;
    });
    const claimedMs = Date.now() - diedAt;
    await until("every saga to end", async () => [...(await statuses()).values()].filter((s) => !isTerminal(s as never)).length === 0);
    const endedMs = Date.now() - diedAt;
    console.log(
      `take-over: 120 sagas of a dead replica (lease 1500 ms, claims every 250 ms): all claimed by the others ${claimedMs} ms and all ended ${endedMs} ms after its last renewal`,
    );
    await expectEachCompletedOnce(ids, services);
    expect(b.calls.count + c.calls.count).toBeGreaterThan(0);
    const { rows } = await admin.query<{ owner: string; n: number }>("SELECT owner, count(*)::int AS n FROM saga GROUP BY owner");
    expect(rows.find((r) => r.owner === "replica-dying")).toBeUndefined();
  }, 120_000);

  it("lets no write of a replica paused past its lease land once it wakes, and every saga ends once", async () => {
    const services = new Services();
    const paused = await replica("replica-paused", services, { timers: false });
    const b = await replica("replica-b", services, { timers: true });
    // Paused: its renewals are frozen and its calls held, after the creation of its sagas.
    let wake!: () => void;
    paused.hold.promise = new Promise((resolve) => (wake = resolve));
    const started = await Promise.all(
      Array.from({ length: 40 }, (_, n) => paused.runner.start("order", { idempotencyKey: `paused-${n}`, input: { n } })),
    );
    const ids = started.map((s) => s.saga.sagaId);
    await until("the other replica to finish every saga", async () => [...(await statuses()).values()].every((s) => s === "COMPLETED"));
    await expectEachCompletedOnce(ids, services);
    const before = await admin.query("SELECT * FROM saga_event ORDER BY saga_id, sequence");
    const epochs = await admin.query<{ epoch: number }>("SELECT epoch FROM saga");
    expect(epochs.rows.every((r) => Number(r.epoch) >= 2)).toBe(true);

    // Wakes: what it held goes out, each of its sagas reaches its next write, and that write is refused.
    wake();
    paused.hold.promise = undefined;
    await paused.runner.idle();
    const after = await admin.query("SELECT * FROM saga_event ORDER BY saga_id, sequence");
    expect(after.rows).toEqual(before.rows);
    expect(paused.log.warnings.filter((w) => w.includes("taken over")).length).toBe(40);
    expect(paused.runner.inFlight()).toBe(0);
    await paused.runner.renewLeases();
    expect(paused.runner.inFlight()).toBe(0);
    await expectEachCompletedOnce(ids, services);
    expect(b.runner.inFlight()).toBe(0);
    console.log(
      `fencing: 40 sagas of a replica paused past its lease finished by another; on waking it made ${paused.calls.count} calls (idempotent) and 0 of its writes landed`,
    );
  }, 120_000);

  it("lets a replacement given the same replica id drive its sagas at once, and fences the frozen process it replaces", async () => {
    const services = new Services();
    const frozen = await replica("replica-x", services, { timers: false, leaseMs: 60_000 });
    let wake!: () => void;
    frozen.hold.promise = new Promise((resolve) => (wake = resolve));
    const started = await Promise.all(
      Array.from({ length: 20 }, (_, n) => frozen.runner.start("order", { idempotencyKey: `same-id-${n}`, input: { n } })),
    );
    const ids = started.map((s) => s.saga.sagaId);
    // Its leases run for a minute: only the replacement's renewal (same id) can pick the sagas up, and it takes them.
    const replacement = await replica("replica-x", services, { timers: true, leaseMs: 60_000 });
    await until("the replacement to finish every saga", async () => [...(await statuses()).values()].every((st) => st === "COMPLETED"), 30_000);
    await expectEachCompletedOnce(ids, services);
    const before = await admin.query("SELECT * FROM saga_event ORDER BY saga_id, sequence");
    wake();
    frozen.hold.promise = undefined;
    await frozen.runner.idle();
    expect((await admin.query("SELECT * FROM saga_event ORDER BY saga_id, sequence")).rows).toEqual(before.rows);
    expect(frozen.log.warnings.filter((w) => w.includes("taken over")).length).toBe(20);
    expect(replacement.runner.inFlight()).toBe(0);
  }, 60_000);

  it("gives one saga for one Idempotency-Key sent to two replicas at the same instant", async () => {
    const services = new Services();
    const a = await replica("replica-a", services, { timers: true });
    const b = await replica("replica-b", services, { timers: true });
    const pairs = await Promise.all(
      Array.from({ length: 60 }, (_, n) =>
        Promise.all([
          a.runner.start("order", { idempotencyKey: `same-${n}`, input: { n } }),
          b.runner.start("order", { idempotencyKey: `same-${n}`, input: { n } }),
        ]),
      ),
    );
    for (const [x, y] of pairs) {
      expect(x.saga.sagaId).toBe(y.saga.sagaId);
      expect([x.created, y.created].filter(Boolean)).toHaveLength(1);
    }
    const { rows } = await admin.query<{ n: number; keys: number }>(
      "SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS keys FROM saga",
    );
    expect(rows[0]).toEqual({ n: 60, keys: 60 });
    await until("every saga to end", async () => [...(await statuses()).values()].every((s) => s === "COMPLETED"));
    await expectEachCompletedOnce(
      pairs.map(([x]) => x.saga.sagaId),
      services,
    );
  }, 120_000);

  it("announces every committed batch to the other stores' change feeds, however large, and not to its own", async () => {
    const writer = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
    const listener = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
    stores.push(writer, listener);
    const heard = new Map<string, [number, number]>();
    const own: string[] = [];
    (await listener.openChangeFeed()).onChanges((changes) => changes.forEach((c) => heard.set(c.sagaId, [c.from, c.to])));
    (await writer.openChangeFeed()).onChanges((changes) => changes.forEach((c) => own.push(c.sagaId)));
    // 3,000 sagas with 100-character ids in one batch: about 400 KB of news, past one notification's 8,000 bytes.
    const ids = Array.from({ length: 3_000 }, (_, n) => `${String(n).padStart(6, "0")}-${"x".repeat(93)}`);
    await Promise.all(
      ids.map((id) =>
        writer.create(
          { sagaId: id, idempotencyKey: id, fingerprint: "", definitionName: "order", definitionVersion: 1, input: null, createdAt: 1 },
          { sagaId: id, sequence: 1, kind: "saga-created", status: "RUNNING", at: 1 },
        ),
      ),
    );
    await Promise.all(ids.map((id) => writer.append({ sagaId: id, sequence: 2, kind: "step-started", step: "price", status: "RUNNING", at: 2 })));
    await until("every change to be heard", async () => ids.every((id) => heard.get(id)?.[1] === 2), 30_000);
    expect(heard.get(ids[0]!)).toEqual([2, 2]);
    expect(own).toEqual([]);
  }, 60_000);

  it("reads every saga on any replica: get, list and wait see a saga another replica drives", async () => {
    const services = new Services();
    const a = await replica("replica-a", services, { timers: true });
    const reader = await replica("replica-reader", services, { timers: true });
    const { saga } = await a.runner.start("order", { idempotencyKey: "seen-elsewhere", input: { n: 1 } });
    const heard: string[] = [];
    reader.runner.subscribe(saga.sagaId, (e) => heard.push(e.kind), { everywhere: true });
    const waitedFrom = Date.now();
    const waited = await reader.runner.wait(saga.sagaId, 30_000, "terminal");
    expect(waited?.status).toBe("COMPLETED");
    // Heard through the change feed, not at the wait's timeout.
    expect(Date.now() - waitedFrom).toBeLessThan(25_000);
    expect(heard).toContain("saga-completed");
    expect(reader.runner.inFlight()).toBe(0);
    expect((await reader.runner.get(saga.sagaId))?.status).toBe("COMPLETED");
    const page = await reader.runner.list({ pageSize: 10 });
    expect(page.sagas.map((s) => s.sagaId)).toContain(saga.sagaId);
  }, 60_000);
});
