import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { UnavailableError } from "./domain-errors.js";
import { openPostgresPool } from "./postgres.js";
import { PostgresServiceStore, type KeyedTable, type PostgresServiceStoreOptions } from "./postgres-service-store.js";
import { createTestDatabase, type TestDatabase } from "./postgres-test-database.js";

// A store of counters with a CHECK (n ≤ cap), the shape of a service's accounts.
interface ThingRow {
  k: string;
  n: number;
  cap: number;
}
const THINGS: KeyedTable<ThingRow> = { name: "things", key: "k", lockRank: 0, columns: { k: "text", n: "bigint", cap: "bigint" } };

class ThingStore extends PostgresServiceStore {
  constructor(pool: pg.Pool, options?: PostgresServiceStoreOptions) {
    super(pool, "things", options);
  }
  find(k: string): ThingRow | undefined {
    return this.row(THINGS, k);
  }
  /** Adds `by` to the counter `k`, creating it (cap 100) if needed. */
  add(k: string, by: number): Promise<number> {
    return this.write(() => {
      const row = this.row(THINGS, k) ?? { k, n: 0, cap: 100 };
      this.put(THINGS, { ...row, n: row.n + by });
      return row.n + by;
    });
  }
}

class Refused extends Error {}

let database: TestDatabase;
let admin: pg.Pool;
let store: ThingStore;
const retries: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase("service_store");
  admin = await openPostgresPool({ connectionString: database.url, maxConnections: 2 });
  await admin.query('CREATE TABLE things (k text COLLATE "C" PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0), cap bigint NOT NULL, CHECK (n <= cap))');
}, 30_000);
afterAll(async () => {
  await admin?.end();
  await database?.drop();
});
beforeEach(async () => {
  await admin.query("TRUNCATE things");
  retries.length = 0;
  store = new ThingStore(await openPostgresPool({ connectionString: database.url, applicationName: "things-store" }), {
    onRetry: ({ error }) => retries.push(error.message),
  });
});
afterEach(async () => {
  await store.close();
});

const rows = async () => (await admin.query<{ k: string; n: number; xmin: string }>("SELECT k, n, xmin::text FROM things ORDER BY k")).rows;

describe("PostgresServiceStore", () => {
  it("commits the writes of one turn in one transaction, each seeing the ones before it", async () => {
    const results = await Promise.all([store.add("a", 1), store.add("b", 2), store.add("a", 3), store.add("c", 4), store.add("a", 5)]);
    expect(results).toEqual([1, 2, 4, 4, 9]);
    const found = await rows();
    expect(found.map((r) => [r.k, r.n])).toEqual([
      ["a", 9],
      ["b", 2],
      ["c", 4],
    ]);
    expect(new Set(found.map((r) => r.xmin)).size).toBe(1);
  });

  it("fails only the write that throws, the write whose row breaks a CHECK and the write whose key the server refuses; the others of the batch land", async () => {
    await store.add("full", 100);
    const outcomes = await Promise.allSettled([
      store.add("a", 1),
      // A domain refusal: it changes a row, then throws; nothing of it is kept.
      store.write(() => {
        store["put"](THINGS, { k: "refused", n: 1, cap: 1 });
        throw new Refused("no");
      }),
      store.add("full", 1), // 101 > cap: the server refuses this row
      store.add("b", 2),
      store.add("nul\u0000key", 1), // PostgreSQL text cannot hold U+0000: the server refuses the key
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "rejected", "fulfilled", "rejected"]);
    expect(String((outcomes[4] as PromiseRejectedResult).reason)).toMatch(/invalid byte sequence|0x00/);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(Refused);
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/check constraint/);
    expect((await rows()).map((r) => [r.k, r.n])).toEqual([
      ["a", 1],
      ["b", 2],
      ["full", 100],
    ]);
  });

  it("reads committed rows with read(), refuses changes there, and refuses accessors outside write() and read()", async () => {
    await store.add("a", 7);
    expect(await store.read(() => [store.find("a")?.n, store.find("none")])).toEqual([7, undefined]);
    await expect(store.read(() => store["put"](THINGS, { k: "x", n: 1, cap: 1 }))).rejects.toThrow("a read cannot change rows");
    expect(() => store.find("a")).toThrow("things store: rows are read and changed only inside write() or read()");
  });

  it("answers ping while the database answers, and not once closed", async () => {
    expect(await store.ping()).toBe(true);
    // Port 23998 of this machine: nothing listens there (the tests' own port range).
    const nowhere = new ThingStore(new pg.Pool({ connectionString: "postgresql://postgres@127.0.0.1:23998/none", connectionTimeoutMillis: 1_000 }));
    expect(await nowhere.ping(1_000)).toBe(false);
    await nowhere.close();
    await store.close();
    expect(await store.ping()).toBe(false);
  });

  it("answers UnavailableError (UNAVAILABLE: callers retry) when the database cannot be reached, after its retries", async () => {
    const down = new ThingStore(new pg.Pool({ connectionString: "postgresql://postgres@127.0.0.1:23998/none", connectionTimeoutMillis: 1_000 }), {
      retries: 1,
      onRetry: ({ error }) => retries.push(error.message),
    });
    const write = await down.add("a", 1).catch((e: unknown) => e);
    expect(write).toBeInstanceOf(UnavailableError);
    expect((write as Error).message).toMatch(/^the things database does not answer: .*ECONNREFUSED/);
    expect(retries).toHaveLength(1);
    const read = await down.read(() => down.find("a")).catch((e: unknown) => e);
    expect(read).toBeInstanceOf(UnavailableError);
    await down.close();
  });

  it("sends a batch again on a new connection when its connection is lost, and the write lands once", async () => {
    // Hold the advisory lock of row "k" so that the store's batch waits on it, then kill its connection.
    const blocker = await admin.connect();
    try {
      await blocker.query("BEGIN");
      await blocker.query("SELECT pg_advisory_xact_lock(hashtext('things'), hashtext('k'))");
      const write = store.add("k", 5);
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        pid = (
          await admin.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'things-store' AND wait_event_type = 'Lock' AND datname = current_database()",
          )
        ).rows[0]?.pid;
      }
      expect(pid).toBeDefined();
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await blocker.query("COMMIT");
      expect(await write).toBe(5);
    } finally {
      blocker.release();
    }
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect((await rows()).map((r) => [r.k, r.n])).toEqual([["k", 5]]);
  });
});
