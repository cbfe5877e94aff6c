import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../platform/postgres-test-database.js";
import { PostgresSagaStore } from "./postgres-saga-store.js";
import type { SagaEvent, SagaHeader, SagaStatus } from "./saga-record.js";
import { InMemorySagaStore, type SagaStore } from "./saga-store.js";
import { SqliteSagaStore } from "./sql-saga-store.js";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saga-store-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

// One PostgreSQL database for the file, made when a PostgreSQL test first needs it (without a
// server those tests fail, saying so, and the others still run); each test starts from empty
// tables. Stores a failing test left open are closed before the drop.
let creating: Promise<TestDatabase> | undefined;
const openedOnPostgres: SagaStore[] = [];
afterAll(async () => {
  await Promise.allSettled(openedOnPostgres.map((s) => s.close()));
  const database = await creating?.catch(() => undefined);
  await database?.drop();
});

async function openOnPostgres(durability: "process" | "power", empty: boolean): Promise<SagaStore> {
  const database = await (creating ??= createTestDatabase("saga_store_test"));
  const store = await PostgresSagaStore.open({ connectionString: database.url, durability, connectAttempts: 1 });
  openedOnPostgres.push(store);
  if (empty) {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query("TRUNCATE saga, saga_event").finally(() => client.end());
  }
  return store;
}

function header(id: string, createdAt: number, key = `key-${id}`): SagaHeader {
  return {
    sagaId: id,
    idempotencyKey: key,
    fingerprint: "fp",
    definitionName: "order",
    definitionVersion: 2,
    input: { customer: "c1", lines: [{ product: "p", quantity: 2 }], note: null, ok: true },
    createdAt,
  };
}

function ev(sagaId: string, sequence: number, kind: SagaEvent["kind"], status: SagaStatus, extra: Partial<SagaEvent> = {}): SagaEvent {
  return { sagaId, sequence, kind, status, at: 1_000 + sequence, ...extra };
}

type OpenStore = () => Promise<{ store: SagaStore; reopen?: () => Promise<SagaStore> }>;

const stores: [string, OpenStore][] = [
  ["InMemorySagaStore", async () => ({ store: new InMemorySagaStore() })],
  [
    "SqliteSagaStore (file)",
    async () => {
      const file = path.join(dir, `saga-${++files}.db`);
      return { store: new SqliteSagaStore(file), reopen: async () => new SqliteSagaStore(file, { durability: "power" }) };
    },
  ],
  ["SqliteSagaStore (:memory:)", async () => ({ store: new SqliteSagaStore(":memory:") })],
  ["PostgresSagaStore (process)", async () => ({ store: await openOnPostgres("process", true), reopen: () => openOnPostgres("power", false) })],
  ["PostgresSagaStore (power)", async () => ({ store: await openOnPostgres("power", true) })],
];

describe.each(stores)("%s: the SagaStore contract", (_name, open) => {
  it("creates a saga with its first event and loads it back", async () => {
    const { store } = await open();
    const h = header("s1", 10);
    expect(await store.create(h, ev("s1", 1, "saga-created", "RUNNING"))).toEqual({ created: true });
    await store.append(ev("s1", 2, "step-started", "RUNNING", { step: "charge", attempt: 1 }));
    await store.append(ev("s1", 3, "step-succeeded", "RUNNING", { step: "charge", attempt: 1, output: { id: "p-1", cents: 1250, tags: ["a"] } }));
    await store.append(
      ev("s1", 4, "step-failed", "COMPENSATING", { step: "ship", attempt: 2, error: { code: "FAILED_PRECONDITION", message: "no stock" } }),
    );
    const loaded = await store.load("s1");
    expect(loaded?.header).toEqual(h);
    expect(loaded?.events).toEqual([
      ev("s1", 1, "saga-created", "RUNNING"),
      ev("s1", 2, "step-started", "RUNNING", { step: "charge", attempt: 1 }),
      ev("s1", 3, "step-succeeded", "RUNNING", { step: "charge", attempt: 1, output: { id: "p-1", cents: 1250, tags: ["a"] } }),
      ev("s1", 4, "step-failed", "COMPENSATING", { step: "ship", attempt: 2, error: { code: "FAILED_PRECONDITION", message: "no stock" } }),
    ]);
    expect(await store.load("missing")).toBeUndefined();
    await store.close();
  });

  it("keeps a step's null output apart from no output", async () => {
    const { store } = await open();
    await store.create(header("n1", 10), ev("n1", 1, "saga-created", "RUNNING"));
    await store.append(ev("n1", 2, "step-succeeded", "RUNNING", { step: "a", output: null }));
    await store.append(ev("n1", 3, "step-succeeded", "RUNNING", { step: "b" }));
    const events = (await store.load("n1"))?.events ?? [];
    expect(events[1]).toHaveProperty("output", null);
    expect(events[2]).not.toHaveProperty("output");
    await store.close();
  });

  it("keeps one saga per idempotency key, even for concurrent creates", async () => {
    const { store } = await open();
    const results = await Promise.all(["a", "b", "c"].map((id) => store.create(header(id, 10, "same"), ev(id, 1, "saga-created", "RUNNING"))));
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    for (const r of results) if (!r.created) expect(r.existing.header.sagaId).toBe("a");
    expect(await store.load("b")).toBeUndefined();
    await store.close();
  });

  it("rejects an append to an unknown saga or a taken sequence, without hurting other writes", async () => {
    const { store } = await open();
    await store.create(header("s1", 10), ev("s1", 1, "saga-created", "RUNNING"));
    const [bad, dup, good] = await Promise.allSettled([
      store.append(ev("ghost", 2, "step-started", "RUNNING")),
      store.append(ev("s1", 1, "step-started", "RUNNING")),
      store.append(ev("s1", 2, "step-started", "RUNNING", { step: "x" })),
    ]);
    expect(bad.status).toBe("rejected");
    expect(dup.status).toBe("rejected");
    expect(good.status).toBe("fulfilled");
    expect((await store.load("s1"))?.events.map((e) => e.sequence)).toEqual([1, 2]);
    await store.close();
  });

  it("lists newest first with status and time filters and a keyset cursor; tracks unfinished sagas", async () => {
    const { store } = await open();
    const statuses: SagaStatus[] = ["COMPLETED", "RUNNING", "COMPENSATING", "NEEDS_ATTENTION", "COMPENSATED", "RUNNING"];
    for (let i = 0; i < statuses.length; i++) {
      const id = `s${i}`;
      await store.create(header(id, 100 + (i >> 1) * 10), ev(id, 1, "saga-created", "RUNNING"));
      if (statuses[i] !== "RUNNING") await store.append(ev(id, 2, "saga-completed", statuses[i]!));
    }
    // createdAt: s0,s1 = 100; s2,s3 = 110; s4,s5 = 120. Ties break by id, descending.
    const ids = async (q: Parameters<SagaStore["list"]>[0]) => (await store.list(q)).map((s) => s.header.sagaId);
    expect(await ids({ limit: 10 })).toEqual(["s5", "s4", "s3", "s2", "s1", "s0"]);
    expect(await ids({ limit: 2 })).toEqual(["s5", "s4"]);
    expect(await ids({ limit: 2, after: { createdAt: 120, sagaId: "s4" } })).toEqual(["s3", "s2"]);
    expect(await ids({ limit: 10, after: { createdAt: 110, sagaId: "s3" } })).toEqual(["s2", "s1", "s0"]);
    expect(await ids({ limit: 10, statuses: ["RUNNING", "NEEDS_ATTENTION"] })).toEqual(["s5", "s3", "s1"]);
    expect(await ids({ limit: 10, statuses: [] })).toHaveLength(6);
    expect(await ids({ limit: 10, createdAfter: 110, createdBefore: 120 })).toEqual(["s3", "s2"]);
    expect(await store.unfinished()).toEqual(["s1", "s2", "s5"]);
    await store.close();
  });

  it("counts CONFIRMING as unfinished, and keeps an operator's note on its event", async () => {
    const { store } = await open();
    const operator = { actor: "ops@example.com", reason: "stock counted by hand; nothing to undo" };
    await store.create(header("c1", 10), ev("c1", 1, "saga-created", "RUNNING"));
    await store.append(ev("c1", 2, "saga-decided", "CONFIRMING"));
    await store.create(header("n1", 20), ev("n1", 1, "saga-created", "RUNNING"));
    await store.append(ev("n1", 2, "saga-needs-attention", "NEEDS_ATTENTION", { step: "x", attempt: 3 }));
    await store.append(ev("n1", 3, "saga-resolved", "RESOLVED", { operator }));
    expect(await store.unfinished()).toEqual(["c1"]);
    expect((await store.load("n1"))?.events[2]).toEqual(ev("n1", 3, "saga-resolved", "RESOLVED", { operator }));
    expect((await store.list({ limit: 10, statuses: ["RESOLVED"] })).map((r) => r.header.sagaId)).toEqual(["n1"]);
    await store.close();
  });

  it("gives back every field of an event as written, on a saga's first event as on a later one", async () => {
    const { store } = await open();
    // Every optional field of SagaEvent set at once, so a store that drops or renames one fails here.
    const full = (sequence: number): SagaEvent => ({
      sagaId: "f1",
      sequence,
      kind: "saga-retried",
      step: "charge",
      status: "COMPENSATING",
      at: 2 ** 41 + sequence,
      attempt: 7,
      output: { receipt: "r-1", lines: [1, 2], none: null },
      error: { code: "UNAVAILABLE", message: "payments down" },
      operator: { actor: "ops@example.com", reason: "payments are back" },
    });
    await store.create(header("f1", 10), full(1));
    await store.append(full(2));
    const events = (await store.load("f1"))?.events;
    expect(events).toEqual([full(1), full(2)]);
    expect(events?.map((e) => Object.keys(e).sort())).toEqual([1, 2].map((n) => Object.keys(full(n)).sort()));
    expect((await store.list({ limit: 10 }))[0]?.events).toEqual(events);
    await store.close();
  });

  it("survives close and reopen with every acknowledged write", async () => {
    const { store, reopen } = await open();
    if (!reopen) return;
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 200; i++) {
      const id = `r${String(i).padStart(3, "0")}`;
      writes.push(
        store
          .create(header(id, i), ev(id, 1, "saga-created", "RUNNING"))
          .then(() => store.append(ev(id, 2, "step-succeeded", i % 2 ? "RUNNING" : "COMPLETED", { step: "a", output: { i } }))),
      );
    }
    await Promise.all(writes);
    await store.close();
    await expect(store.load("r000")).rejects.toThrow(/closed/);
    const again = await reopen();
    expect((await again.list({ limit: 1000 })).length).toBe(200);
    expect((await again.load("r007"))?.events[1]?.output).toEqual({ i: 7 });
    expect(await again.unfinished()).toHaveLength(100);
    await again.close();
  });
});

describe("SqliteSagaStore", () => {
  it("commits many concurrent writes in one batch (group commit)", async () => {
    const store = new SqliteSagaStore(path.join(dir, "group.db"));
    const n = 500;
    let settled = 0;
    const all = Array.from({ length: n }, (_, i) =>
      store.create(header(`g${i}`, i), ev(`g${i}`, 1, "saga-created", "RUNNING")).then(() => void settled++),
    );
    expect(settled).toBe(0); // nothing resolves before the batch commits
    await Promise.all(all);
    expect(settled).toBe(n);
    await store.close();
  });

  it("adds the operator columns to a log written before they existed, keeping its events", async () => {
    const file = path.join(dir, "old-schema.db");
    const old = new Database(file);
    old.exec(`
      CREATE TABLE saga (saga_id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, fingerprint TEXT NOT NULL,
        definition_name TEXT NOT NULL, definition_version INTEGER NOT NULL, status TEXT NOT NULL, input TEXT NOT NULL,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
      CREATE TABLE saga_event (saga_id TEXT NOT NULL, sequence INTEGER NOT NULL, kind TEXT NOT NULL, step TEXT,
        status TEXT NOT NULL, at INTEGER NOT NULL, attempt INTEGER, output TEXT, error_code TEXT, error_message TEXT,
        PRIMARY KEY (saga_id, sequence)) WITHOUT ROWID;
      INSERT INTO saga VALUES ('o1', 'key-o1', 'fp', 'order', 2, 'NEEDS_ATTENTION', '{}', 5, 6);
      INSERT INTO saga_event (saga_id, sequence, kind, status, at) VALUES ('o1', 1, 'saga-created', 'RUNNING', 5);
      INSERT INTO saga_event (saga_id, sequence, kind, step, status, at, attempt, error_code, error_message)
        VALUES ('o1', 2, 'saga-needs-attention', 'charge', 'NEEDS_ATTENTION', 6, 20, 'UNAVAILABLE', 'down');`);
    old.close();
    const store = new SqliteSagaStore(file);
    const operator = { actor: "ops", reason: "refund made by hand" };
    await store.append(ev("o1", 3, "saga-resolved", "RESOLVED", { operator }));
    const events = (await store.load("o1"))!.events;
    expect(events.map((e) => [e.kind, e.operator])).toEqual([
      ["saga-created", undefined],
      ["saga-needs-attention", undefined],
      ["saga-resolved", operator],
    ]);
    expect(events[1]?.error).toEqual({ code: "UNAVAILABLE", message: "down" });
    await store.close();
    const again = new SqliteSagaStore(file); // opening an up-to-date file changes nothing
    expect((await again.load("o1"))!.events).toEqual(events);
    await again.close();
  });

  it("uses WAL on a file", async () => {
    const file = path.join(dir, "wal.db");
    const store = new SqliteSagaStore(file);
    await store.create(header("w", 1), ev("w", 1, "saga-created", "RUNNING"));
    expect(fs.existsSync(`${file}-wal`)).toBe(true);
    await store.close();
  });
});
