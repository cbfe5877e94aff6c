import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { migratePostgres, SchemaTooNewError } from "../../platform/postgres-migrations.js";
import { openPostgresPool } from "../../platform/postgres.js";
import { createTestDatabase, type TestDatabase } from "../../platform/postgres-test-database.js";
import { startRelay } from "../../platform/postgres-test-relay.js";
import { PostgresSagaStore, SAGA_LOG_MIGRATIONS, SAGA_LOG_VERSIONS_TABLE } from "./postgres-saga-store.js";
import { FencedError } from "./saga-ownership.js";
import type { SagaEvent, SagaHeader, SagaStatus } from "./saga-record.js";

let database: TestDatabase;
let admin: pg.Client;
const opened: PostgresSagaStore[] = [];
beforeAll(async () => {
  database = await createTestDatabase("postgres_saga_store_test");
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await admin?.end();
  await database?.drop();
});

async function open(): Promise<PostgresSagaStore> {
  const store = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 });
  opened.push(store);
  return store;
}

beforeEach(async () => {
  const store = await open(); // migrates a fresh database
  await store.close();
  await admin.query("TRUNCATE saga, saga_event");
});

function header(id: string, createdAt = 1, extra: Partial<SagaHeader> = {}): SagaHeader {
  return {
    sagaId: id,
    idempotencyKey: `key-${id}`,
    fingerprint: "fp",
    definitionName: "order",
    definitionVersion: 1,
    input: { id },
    createdAt,
    ...extra,
  };
}

function ev(sagaId: string, sequence: number, status: SagaStatus = "RUNNING", extra: Partial<SagaEvent> = {}): SagaEvent {
  return { sagaId, sequence, kind: sequence === 1 ? "saga-created" : "step-started", status, at: 1_000 + sequence, ...extra };
}

/** Waits until the database's clock is past every lease of `ownerId` (leases are on its clock). */
async function untilLeasesExpire(ownerId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query("SELECT count(*)::int AS live FROM saga WHERE owner = $1 AND lease_until > now()", [ownerId]);
    if (rows[0].live === 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`leases of ${ownerId} did not expire`);
}

describe("PostgresSagaStore: group commit", () => {
  it("writes the creates of one turn in one transaction, and their appends in one more", async () => {
    const store = await open();
    const n = 300;
    let settled = 0;
    const creates = Array.from({ length: n }, (_, i) => store.create(header(`g${i}`, i), ev(`g${i}`, 1)).then(() => void settled++));
    expect(settled).toBe(0);
    await Promise.all(creates);
    expect(settled).toBe(n);
    await Promise.all(Array.from({ length: n }, (_, i) => store.append(ev(`g${i}`, 2, i % 2 ? "RUNNING" : "COMPENSATING"))));
    // xmin is the writing transaction: one for all the saga rows, one for all the appended events.
    const sagaTx = await admin.query("SELECT count(DISTINCT xmin::text)::int AS n FROM saga");
    const appendTx = await admin.query("SELECT count(DISTINCT xmin::text)::int AS n FROM saga_event WHERE sequence = 2");
    expect([sagaTx.rows[0].n, appendTx.rows[0].n]).toEqual([2, 1]); // saga rows: created, then half changed status
    expect(await store.unfinished()).toHaveLength(n);
    expect((await store.list({ limit: 1000, statuses: ["COMPENSATING"] })).length).toBe(n / 2);
    await store.close();
  });

  it("refuses only the bad writes of a batch, with a clear reason, and keeps the rest", async () => {
    const store = await open();
    await store.create(header("a"), ev("a", 1));
    const results = await Promise.allSettled([
      store.create(header("b"), ev("b", 1)),
      store.create(header("too-big", 1, { definitionVersion: 2 ** 40 }), ev("too-big", 1)), // the server refuses it: int4
      store.create(header("c"), ev("c", 1)),
      store.create(header("nul", 1, { idempotencyKey: "k\u0000" }), ev("nul", 1)),
      store.append(ev("a", 2, "COMPENSATING", { error: { code: "X", message: "bad \u0000 byte" } })),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]);
    expect(String((results[3] as PromiseRejectedResult).reason)).toMatch(/idempotency key contains U\+0000/);
    expect((await store.load("b"))?.events).toHaveLength(1);
    expect(await store.load("too-big")).toBeUndefined();
    expect((await store.load("a"))?.events[1]?.error).toEqual({ code: "X", message: "bad \uFFFD byte" });
    expect(await store.unfinished()).toEqual(["a", "b", "c"]);
    await store.close();
  });

  it("keeps JSON as it was written, escapes included", async () => {
    const store = await open();
    const input = { text: 'nul \u0000, quote ", backslash \\, emoji 😀', big: 2 ** 53 - 1, nested: [null, true, { z: 1, a: 2 }] };
    await store.create(header("j", 5, { input }), ev("j", 1));
    await store.append(ev("j", 2, "COMPLETED", { kind: "step-succeeded", output: input }));
    const loaded = await store.load("j");
    expect(loaded?.header.input).toEqual(input);
    expect(loaded?.events[1]?.output).toEqual(input);
    expect(Object.keys((loaded?.header.input as { nested: [null, true, Record<string, number>] }).nested[2])).toEqual(["z", "a"]);
    await store.close();
  });
});

describe("PostgresSagaStore: schema versions", () => {
  it("records the saga log's version, and refuses to start on a newer one", async () => {
    const { rows } = await admin.query(`SELECT max(version)::int AS v FROM ${SAGA_LOG_VERSIONS_TABLE}`);
    expect(rows[0].v).toBe(SAGA_LOG_MIGRATIONS.length);
    const newer = SAGA_LOG_MIGRATIONS.length + 1;
    await admin.query(`INSERT INTO ${SAGA_LOG_VERSIONS_TABLE} (version, name) VALUES ($1, 'from a newer build')`, [newer]);
    try {
      const error = await PostgresSagaStore.open({ connectionString: database.url, connectAttempts: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SchemaTooNewError);
      expect((error as Error).message).toContain(`saga log schema in this database is at version ${newer}`);
      expect((error as Error).message).toContain("refusing to start");
    } finally {
      await admin.query(`DELETE FROM ${SAGA_LOG_VERSIONS_TABLE} WHERE version = $1`, [newer]);
    }
  });
});

describe("PostgresSagaStore: schema version 2 (operator notes)", () => {
  it("migrates a saga log at version 1 to version 2, keeping its rows", async () => {
    const old = await createTestDatabase("saga_log_v1_test");
    try {
      // A database as a build that knew only version 1 left it, with a saga in it.
      const pool = await openPostgresPool({ connectionString: old.url, connectAttempts: 1 });
      try {
        expect(await migratePostgres(pool, "saga log", SAGA_LOG_VERSIONS_TABLE, SAGA_LOG_MIGRATIONS.slice(0, 1))).toEqual({ from: 0, to: 1 });
        await pool.query(`
          INSERT INTO saga (saga_id, idempotency_key, fingerprint, definition_name, definition_version, status, input, created_at, updated_at)
            VALUES ('o1', 'key-o1', 'fp', 'order', 1, 'NEEDS_ATTENTION', '{"id":"o1"}', 5, 1003);
          INSERT INTO saga_event (saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message) VALUES
            ('o1', 1, 'saga-created', NULL, 'RUNNING', 1001, NULL, NULL, NULL, NULL),
            ('o1', 2, 'step-succeeded', 'reserve', 'RUNNING', 1002, 1, '{"r":1}', NULL, NULL),
            ('o1', 3, 'saga-needs-attention', 'charge', 'NEEDS_ATTENTION', 1003, 20, NULL, 'UNAVAILABLE', 'down');`);
      } finally {
        await pool.end();
      }
      const before: SagaEvent[] = [
        ev("o1", 1),
        ev("o1", 2, "RUNNING", { kind: "step-succeeded", step: "reserve", attempt: 1, output: { r: 1 } }),
        ev("o1", 3, "NEEDS_ATTENTION", {
          kind: "saga-needs-attention",
          step: "charge",
          attempt: 20,
          error: { code: "UNAVAILABLE", message: "down" },
        }),
      ];

      const store = await PostgresSagaStore.open({ connectionString: old.url, connectAttempts: 1 });
      opened.push(store);
      expect((await store.load("o1"))?.events).toEqual(before);
      expect((await store.load("o1"))?.events.every((e) => !("operator" in e))).toBe(true);
      const operator = { actor: "ops", reason: "refund made by hand" };
      await store.append(ev("o1", 4, "RESOLVED", { kind: "saga-resolved", operator }));
      expect((await store.load("o1"))?.events).toEqual([...before, ev("o1", 4, "RESOLVED", { kind: "saga-resolved", operator })]);
      await store.close();

      const check = new pg.Client({ connectionString: old.url });
      await check.connect();
      try {
        const versions = await check.query(`SELECT version, name FROM ${SAGA_LOG_VERSIONS_TABLE} ORDER BY version`);
        expect(versions.rows.map((r: { version: number }) => r.version)).toEqual([1, 2]);
        const notes = await check.query("SELECT sequence, actor, reason FROM saga_event WHERE saga_id = 'o1' ORDER BY sequence");
        expect(notes.rows).toEqual([
          { sequence: 1, actor: null, reason: null },
          { sequence: 2, actor: null, reason: null },
          { sequence: 3, actor: null, reason: null },
          { sequence: 4, actor: "ops", reason: "refund made by hand" },
        ]);
      } finally {
        await check.end();
      }
      // Opening an up-to-date log again changes nothing.
      const again = await PostgresSagaStore.open({ connectionString: old.url, connectAttempts: 1 });
      opened.push(again);
      expect((await again.load("o1"))?.events).toHaveLength(4);
      await again.close();
    } finally {
      await Promise.allSettled(opened.map((s) => s.close()));
      await old.drop();
    }
  });

  it("keeps the note on a fenced append, and replaces U+0000 in it rather than refusing the append", async () => {
    const store = await open();
    await store.create(header("f"), ev("f", 1));
    const claims = await store.claim("replica-a", 60_000, 1);
    expect(claims.map((c) => c.sagaId)).toEqual(["f"]);
    const epoch = claims[0]!.epoch;
    const operator = { actor: "ops@example.com", reason: "forced: the customer cancelled" };
    await store.appendFenced(ev("f", 2, "COMPENSATING", { kind: "saga-compensation-forced", operator }), epoch);
    await store.append(ev("f", 3, "COMPENSATING", { kind: "saga-retried", operator: { actor: "o\u0000ps", reason: "a \u0000 b" } }));
    const events = (await store.load("f"))?.events;
    expect(events?.map((e) => e.operator)).toEqual([undefined, operator, { actor: "o\uFFFDps", reason: "a \uFFFD b" }]);
    await store.close();
  });
});

describe("PostgresSagaStore: ownership", () => {
  it("hands a paused owner's sagas to another, and refuses the stale owner's appends", async () => {
    const store = await open();
    for (const id of ["s1", "s2", "s3"]) await store.create(header(id, Number(id.slice(1))), ev(id, 1));
    await store.create(header("done"), ev("done", 1, "COMPLETED"));

    const byA = await store.claim("replica-a", 60_000, 2);
    expect(byA).toEqual([
      { sagaId: "s1", epoch: 1 },
      { sagaId: "s2", epoch: 1 },
    ]);
    // A live lease is not claimable; only what is left (never a finished saga) goes to B.
    expect(await store.claim("replica-b", 60_000, 10)).toEqual([{ sagaId: "s3", epoch: 1 }]);
    await store.appendFenced(ev("s1", 2), 1);

    // A pauses past its (now short) lease: renew to 1 ms, then let the database's clock pass it.
    expect((await store.renew("replica-a", 1)).map((c) => c.sagaId)).toEqual(["s1", "s2"]);
    await untilLeasesExpire("replica-a");
    expect(await store.claim("replica-b", 60_000, 10)).toEqual([
      { sagaId: "s1", epoch: 2 },
      { sagaId: "s2", epoch: 2 },
    ]);

    // A wakes up and writes with its old epoch, in a batch with a write of B's: only B's lands.
    const [stale, fresh] = await Promise.allSettled([
      store.appendFenced(ev("s1", 3, "COMPENSATING", { kind: "step-failed" }), 1),
      store.appendFenced(ev("s2", 2), 2),
    ]);
    expect(stale.status).toBe("rejected");
    const refusal = (stale as PromiseRejectedResult).reason as FencedError;
    expect(refusal).toBeInstanceOf(FencedError);
    expect([refusal.sagaId, refusal.epoch, refusal.currentEpoch]).toEqual(["s1", 1, 2]);
    expect(fresh.status).toBe("fulfilled");
    const s1 = await store.load("s1");
    expect(s1?.events.map((e) => e.sequence)).toEqual([1, 2]);
    expect((await store.list({ limit: 10, statuses: ["COMPENSATING"] })).map((s) => s.header.sagaId)).toEqual([]);

    // A learns it lost them; B keeps writing.
    expect(await store.renew("replica-a", 60_000)).toEqual([]);
    expect((await store.renew("replica-b", 60_000)).map((c) => c.sagaId)).toEqual(["s1", "s2", "s3"]);
    await store.appendFenced(ev("s1", 3, "COMPLETED", { kind: "saga-completed" }), 2);
    expect((await store.load("s1"))?.events.map((e) => e.status)).toEqual(["RUNNING", "RUNNING", "COMPLETED"]);
    await store.close();
  });

  it("never gives one saga to two owners claiming at the same moment", async () => {
    const [a, b] = [await open(), await open()];
    for (let i = 0; i < 60; i++) await a.create(header(`c${String(i).padStart(2, "0")}`, i), ev(`c${String(i).padStart(2, "0")}`, 1));
    const claims = await Promise.all([a.claim("a", 60_000, 40), b.claim("b", 60_000, 40), a.claim("a2", 60_000, 40)]);
    const ids = claims.flat().map((c) => c.sagaId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(60);
    await Promise.all([a.close(), b.close()]);
  });

  it("refuses bad owner ids, leases and epochs before touching anything", async () => {
    const store = await open();
    await expect(store.claim("", 1_000, 1)).rejects.toThrow(/owner id "" is empty/);
    await expect(store.claim("a", 0, 1)).rejects.toThrow(/lease 0 ms/);
    await expect(store.claim("a", 1_000, 0)).rejects.toThrow(/claim limit 0/);
    await expect(store.appendFenced(ev("x", 2), -1)).rejects.toThrow(/epoch -1/);
    await store.close();
  });
});

describe("PostgresSagaStore: a lost connection", () => {
  it("sends a batch again when its answer was lost after the commit, and the writes land once", async () => {
    const relay = await startRelay(database.url);
    const retries: string[] = [];
    const store = await PostgresSagaStore.open({
      connectionString: relay.url,
      connectAttempts: 1,
      maxConnections: 1,
      onWriteRetry: ({ error }) => retries.push(error.message),
      onIdleError: () => undefined,
    });
    opened.push(store);
    try {
      await store.create(header("w0"), ev("w0", 1)); // the connection is up and its statements prepared

      relay.loseNextAnswer();
      expect(await store.create(header("lost-create"), ev("lost-create", 1))).toEqual({ created: true });
      relay.loseNextAnswer();
      await store.append(ev("w0", 2, "COMPENSATING", { kind: "step-failed", step: "charge", error: { code: "X", message: "no" }, output: { a: 1 } }));

      expect(retries).toHaveLength(2);
      expect((await store.load("lost-create"))?.events.map((e) => e.sequence)).toEqual([1]);
      const w0 = await store.load("w0");
      expect(w0?.events.map((e) => e.sequence)).toEqual([1, 2]);
      expect(w0?.events[1]?.status).toBe("COMPENSATING");
      // Sent again, a different event at a taken sequence is still refused.
      relay.loseNextAnswer();
      await expect(store.append(ev("w0", 2, "RUNNING"))).rejects.toThrow(/sequence 2 is taken/);
      expect(retries).toHaveLength(3);
    } finally {
      await store.close();
      await relay.close();
    }
  });

  it("counts an operator's event sent again after a lost answer as landed only when its note is the same", async () => {
    const relay = await startRelay(database.url);
    const retries: string[] = [];
    const store = await PostgresSagaStore.open({
      connectionString: relay.url,
      connectAttempts: 1,
      maxConnections: 1,
      onWriteRetry: ({ error }) => retries.push(error.message),
      onIdleError: () => undefined,
    });
    opened.push(store);
    try {
      await store.create(header("n"), ev("n", 1));
      const operator = { actor: "ops", reason: "settled by hand" };
      relay.loseNextAnswer();
      await store.append(ev("n", 2, "RESOLVED", { kind: "saga-resolved", operator }));
      expect(retries).toHaveLength(1);
      expect((await store.load("n"))?.events[1]?.operator).toEqual(operator);
      // Sent again with another reason: not the event that landed, so refused.
      relay.loseNextAnswer();
      await expect(store.append(ev("n", 2, "RESOLVED", { kind: "saga-resolved", operator: { actor: "ops", reason: "other" } }))).rejects.toThrow(
        /sequence 2 is taken/,
      );
      expect(retries).toHaveLength(2);
      expect((await store.load("n"))?.events[1]?.operator).toEqual(operator);
    } finally {
      await store.close();
      await relay.close();
    }
  });

  it("rejects the writes once the server stays out of reach past the retries", async () => {
    const relay = await startRelay(database.url);
    const retries: number[] = [];
    const store = await PostgresSagaStore.open({
      connectionString: relay.url,
      connectAttempts: 1,
      maxConnections: 1,
      writeRetries: 2,
      onWriteRetry: ({ attempt }) => retries.push(attempt),
      onIdleError: () => undefined,
    });
    opened.push(store);
    await store.create(header("gone"), ev("gone", 1));
    await relay.close();
    await expect(store.append(ev("gone", 2))).rejects.toThrow(/ECONNREFUSED|terminated|connect/i);
    expect(retries).toEqual([1, 2]);
    await store.close();
    expect((await admin.query("SELECT count(*)::int AS n FROM saga_event WHERE saga_id = 'gone'")).rows[0].n).toBe(1);
  });
});
