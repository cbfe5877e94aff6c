import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";
import { NotCompensableError, NotConfirmableError } from "#platform/pending-state.js";
import { StoreVersionError } from "#platform/service-store.js";
import { openDatabase } from "#platform/sqlite.js";
import { openPostgresPool } from "#platform/postgres.js";
import { SchemaTooNewError } from "#platform/postgres-migrations.js";
import { createTestDatabase } from "#platform/postgres-test-database.js";
import { postgresDatabaseForTestFile, sqliteFileForEachTest } from "#platform/service-stores-for-tests.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { PaymentDeclinedError, PaymentNotFoundError, UnknownCustomerError } from "./errors.js";
import { SqlitePaymentStore, type PaymentStore } from "./payment-store.js";
import { PostgresPaymentStore } from "./postgres-payment-store.js";
import { Payments, type OpeningBalance } from "./payments.js";

const ACCOUNTS: OpeningBalance[] = [
  { customerId: "alice", balanceCents: 10_000 },
  { customerId: "bob", balanceCents: 500 },
];

// The domain's tests are the store contract: they run on both stores. PostgreSQL: one database
// for the file, emptied before each setup.
const postgres = postgresDatabaseForTestFile("payments_test");

const BACKENDS = [
  {
    name: "SQLite",
    runs: 150,
    async open(accounts: readonly OpeningBalance[]): Promise<PaymentStore & { close(): unknown }> {
      const store = new SqlitePaymentStore(openDatabase(":memory:"));
      store.seedIfEmpty(accounts);
      return store;
    },
  },
  {
    name: "PostgreSQL",
    runs: 40,
    async open(accounts: readonly OpeningBalance[]): Promise<PaymentStore & { close(): unknown }> {
      const store = await postgres.openEmptiedStore((pool) => PostgresPaymentStore.open(pool), "accounts, payments");
      await store.seedIfEmpty(accounts);
      return store;
    },
  },
];

const account = async (p: Payments, id: string) => {
  const a = await p.getAccount(id);
  return { balance: a.balanceCents, held: a.heldCents, available: a.availableCents };
};

/** Balances plus captured payments: must always equal the initial sum. */
async function money(p: Payments): Promise<number> {
  const balances = (await p.listAccounts()).reduce((s, a) => s + a.balanceCents, 0);
  const captured = (await p.listPayments(undefined, 10_000)).filter((r) => r.status === "CAPTURED").reduce((s, r) => s + r.amountCents, 0);
  return balances + captured;
}

/** Per account: held = Σ AUTHORIZED amounts, and 0 ≤ held ≤ balance. Returns the broken accounts. */
async function brokenHolds(p: Payments): Promise<string[]> {
  const authorized = new Map<string, number>();
  for (const r of await p.listPayments(undefined, 10_000)) {
    if (r.status === "AUTHORIZED") authorized.set(r.customerId, (authorized.get(r.customerId) ?? 0) + r.amountCents);
  }
  return (await p.listAccounts())
    .filter((a) => a.heldCents !== (authorized.get(a.customerId) ?? 0) || a.heldCents < 0 || a.heldCents > a.balanceCents)
    .map((a) => a.customerId);
}

describe.each(BACKENDS)("on $name", ({ open, runs }) => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  async function setup(accounts: readonly OpeningBalance[] = ACCOUNTS) {
    const store = await open(accounts);
    opened.push(store);
    return { store, payments: new Payments(store) };
  }

  describe("Payments.authorize", () => {
    it("holds the amount, records AUTHORIZED and computes what is available", async () => {
      const { payments } = await setup();
      const p = await payments.authorize({ key: "k1", customerId: "alice", amountCents: 2_500 });
      expect(p).toMatchObject({ key: "k1", customerId: "alice", amountCents: 2_500, status: "AUTHORIZED" });
      expect(await account(payments, "alice")).toEqual({ balance: 10_000, held: 2_500, available: 7_500 });
      expect((await payments.getPayment("k1")).status).toBe("AUTHORIZED");
    });

    it("may hold the whole available amount, and no more", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "bob", amountCents: 300 });
      await payments.authorize({ key: "k2", customerId: "bob", amountCents: 200 });
      expect(await account(payments, "bob")).toEqual({ balance: 500, held: 500, available: 0 });
      await expect(payments.authorize({ key: "k3", customerId: "bob", amountCents: 1 })).rejects.toBeInstanceOf(PaymentDeclinedError);
    });

    it("returns the first record on a repeat and holds once, also within one batch", async () => {
      const { payments } = await setup();
      const req = { key: "k1", customerId: "alice", amountCents: 1_000 };
      const [a, b] = await Promise.all([payments.authorize(req), payments.authorize(req)]);
      expect(a).toEqual(b);
      expect(await payments.authorize(req)).toEqual(a);
      expect((await account(payments, "alice")).held).toBe(1_000);
    });

    it("refuses the same key with another amount or customer, changing nothing", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 });
      await expect(payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_001 })).rejects.toBeInstanceOf(KeyReusedError);
      await expect(payments.authorize({ key: "k1", customerId: "bob", amountCents: 1_000 })).rejects.toBeInstanceOf(KeyReusedError);
      expect((await account(payments, "alice")).held).toBe(1_000);
      expect((await account(payments, "bob")).held).toBe(0);
      expect((await payments.getPayment("k1")).amountCents).toBe(1_000);
    });

    it("records nothing for an unknown customer", async () => {
      const { payments } = await setup();
      await expect(payments.authorize({ key: "k1", customerId: "carol", amountCents: 1 })).rejects.toBeInstanceOf(UnknownCustomerError);
      await expect(payments.getPayment("k1")).rejects.toThrow(PaymentNotFoundError);
      expect(await payments.listPayments(undefined, 10)).toEqual([]);
    });

    it("declines against what is available, not the balance, and records DECLINED", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "bob", amountCents: 300 });
      await expect(payments.authorize({ key: "k2", customerId: "bob", amountCents: 201 })).rejects.toBeInstanceOf(PaymentDeclinedError);
      expect((await payments.getPayment("k2")).status).toBe("DECLINED");
      expect(await account(payments, "bob")).toEqual({ balance: 500, held: 300, available: 200 });
    });

    it("keeps a declined payment declined, with the same message, even after funds are released", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "bob", amountCents: 300 });
      const first = await payments.authorize({ key: "k2", customerId: "bob", amountCents: 400 }).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(PaymentDeclinedError);
      await payments.void("k1"); // bob has 500 available again, enough for 400
      const again = await payments.authorize({ key: "k2", customerId: "bob", amountCents: 400 }).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(PaymentDeclinedError);
      expect((again as Error).message).toBe((first as Error).message);
      expect((await account(payments, "bob")).held).toBe(0);
    });

    it("returns the VOIDED record for a repeat after a void, without holding again", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 });
      await payments.void("k1");
      expect((await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 })).status).toBe("VOIDED");
      expect((await account(payments, "alice")).held).toBe(0);
    });
  });

  describe("Payments.capture", () => {
    it("turns the hold into a charge, once however often it is repeated", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 });
      const first = await payments.capture("k1");
      expect(first.status).toBe("CAPTURED");
      expect(await payments.capture("k1")).toEqual(first);
      expect(await account(payments, "alice")).toEqual({ balance: 9_000, held: 0, available: 9_000 });
    });

    it("refuses, changing nothing, with no payment, after a void, a decline or a tombstone", async () => {
      const { payments } = await setup();
      await expect(payments.capture("none")).rejects.toThrow(/cannot capture payment "none": there is none/);
      await expect(payments.getPayment("none")).rejects.toThrow(PaymentNotFoundError);
      await payments.authorize({ key: "voided", customerId: "alice", amountCents: 1_000 });
      await payments.void("voided");
      await payments.authorize({ key: "declined", customerId: "bob", amountCents: 900 }).catch(() => undefined);
      await payments.void("tombstone");
      for (const [key, status] of [
        ["voided", "VOIDED"],
        ["declined", "DECLINED"],
        ["tombstone", "CANCELLED"],
      ] as const) {
        const e = await payments.capture(key).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(NotConfirmableError);
        expect((e as Error).message).toBe(`cannot capture payment "${key}": it is ${status}`);
        expect((await payments.getPayment(key)).status).toBe(status);
      }
      expect(await account(payments, "alice")).toEqual({ balance: 10_000, held: 0, available: 10_000 });
      expect(await account(payments, "bob")).toEqual({ balance: 500, held: 0, available: 500 });
    });
  });

  describe("Payments.void", () => {
    it("releases a hold once, however often it is repeated", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 });
      const first = await payments.void("k1");
      expect(first.status).toBe("VOIDED");
      expect(await payments.void("k1")).toEqual(first);
      expect(await account(payments, "alice")).toEqual({ balance: 10_000, held: 0, available: 10_000 });
    });

    it("leaves a tombstone when it comes first, and the late authorization is refused", async () => {
      const { payments } = await setup();
      const tombstone = await payments.void("k1");
      expect(tombstone).toMatchObject({ key: "k1", status: "CANCELLED", customerId: "", amountCents: 0 });
      const late = await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(CancelledBeforeArrivalError);
      expect((late as Error).message).toMatch(/was cancelled before it arrived/);
      expect((await account(payments, "alice")).held).toBe(0);
      expect(await payments.void("k1")).toEqual(tombstone);
      expect((await payments.getPayment("k1")).status).toBe("CANCELLED");
    });

    it("changes nothing on a DECLINED payment, and succeeds", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "bob", amountCents: 900 }).catch(() => undefined);
      expect((await payments.void("k1")).status).toBe("DECLINED");
      expect(await account(payments, "bob")).toEqual({ balance: 500, held: 0, available: 500 });
    });

    it("refuses to void a CAPTURED payment, changing nothing", async () => {
      const { payments } = await setup();
      await payments.authorize({ key: "k1", customerId: "alice", amountCents: 1_000 });
      await payments.capture("k1");
      const e = await payments.void("k1").catch((err: unknown) => err);
      expect(e).toBeInstanceOf(NotCompensableError);
      expect((e as Error).message).toBe('cannot void payment "k1": it is CAPTURED, which is final');
      expect((await payments.getPayment("k1")).status).toBe("CAPTURED");
      expect(await account(payments, "alice")).toEqual({ balance: 9_000, held: 0, available: 9_000 });
    });
  });

  describe("Payments money", () => {
    it("keeps balances + captured = initial and holds = Σ authorized under random actions, confirmations and compensations", async () => {
      const key = fc.constantFrom("k1", "k2", "k3", "k4");
      const op = fc.oneof(
        fc.record({
          kind: fc.constant("authorize" as const),
          key,
          customerId: fc.constantFrom("alice", "bob", "nobody"),
          amountCents: fc.integer({ min: 1, max: 6_000 }),
        }),
        fc.record({ kind: fc.constant("capture" as const), key }),
        fc.record({ kind: fc.constant("void" as const), key }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), async (turns) => {
          const { payments, store } = await setup();
          const initial = await money(payments);
          const voidedFirst = new Set<string>();
          const seen = new Set<string>();
          for (const turn of turns) {
            // Ops of one turn run concurrently, so they share one write batch.
            await Promise.allSettled(
              turn.map((o) => {
                if (!seen.has(o.key) && o.kind === "void") voidedFirst.add(o.key);
                seen.add(o.key);
                return o.kind === "authorize" ? payments.authorize(o) : o.kind === "capture" ? payments.capture(o.key) : payments.void(o.key);
              }),
            );
            expect(await money(payments)).toBe(initial);
            expect(await brokenHolds(payments)).toEqual([]);
          }
          for (const k of voidedFirst) expect((await payments.getPayment(k)).status).toBe("CANCELLED");
          opened.splice(opened.indexOf(store), 1);
          await store.close();
        }),
        { numRuns: runs },
      );
    });
  });
});

describe("SqlitePaymentStore on a file", () => {
  const tempFile = sqliteFileForEachTest("payments");

  it("keeps its data after close and reopen, and seeds only once", async () => {
    const path = tempFile();
    const first = new SqlitePaymentStore(openDatabase(path, "power"));
    expect(first.seedIfEmpty(DEMO_ACCOUNTS)).toBe(true);
    await new Payments(first).authorize({ key: "k1", customerId: "customer-2", amountCents: 100_000 });
    first.close();

    const second = new SqlitePaymentStore(openDatabase(path, "power"));
    expect(second.seedIfEmpty(DEMO_ACCOUNTS)).toBe(false);
    const payments = new Payments(second);
    expect(await payments.getAccount("customer-2")).toMatchObject({ balanceCents: 500_000, heldCents: 100_000, availableCents: 400_000 });
    expect((await payments.getPayment("k1")).status).toBe("AUTHORIZED");
    expect(await payments.listAccounts()).toHaveLength(DEMO_ACCOUNTS.length);
    second.close();
  });

  it("migrates a file of the previous version: charges become captures, refunds voids, nothing held", async () => {
    const path = tempFile();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE accounts (customer_id TEXT PRIMARY KEY, balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0)) STRICT;
      CREATE TABLE payments (key TEXT PRIMARY KEY, customer_id TEXT NOT NULL, amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
        status TEXT NOT NULL CHECK (status IN ('CHARGED', 'REFUNDED', 'DECLINED', 'CANCELLED')), reason TEXT NOT NULL DEFAULT '') STRICT;
      INSERT INTO accounts VALUES ('alice', 9000), ('bob', 500);
      INSERT INTO payments VALUES ('c', 'alice', 1000, 'CHARGED', ''), ('r', 'alice', 50, 'REFUNDED', ''),
        ('d', 'bob', 900, 'DECLINED', 'insufficient funds'), ('t', '', 0, 'CANCELLED', '');
    `);
    old.close();

    const store = new SqlitePaymentStore(openDatabase(path));
    const payments = new Payments(store);
    expect((await payments.listPayments(undefined, 10)).map((p) => [p.key, p.status])).toEqual([
      ["c", "CAPTURED"],
      ["d", "DECLINED"],
      ["r", "VOIDED"],
      ["t", "CANCELLED"],
    ]);
    expect(await payments.getAccount("alice")).toMatchObject({ balanceCents: 9_000, heldCents: 0, availableCents: 9_000 });
    expect(store.seedIfEmpty(DEMO_ACCOUNTS)).toBe(false);
    // The migrated tables carry the new CHECKs: a hold beyond the balance fails the write.
    const raw = new Database(path);
    expect(() => raw.prepare("UPDATE accounts SET held_cents = 600 WHERE customer_id = 'bob'").run()).toThrow(/CHECK constraint failed/);
    raw.close();
    await payments.authorize({ key: "n", customerId: "bob", amountCents: 500 });
    expect((await payments.getAccount("bob")).availableCents).toBe(0);
    store.close();
  });

  it("refuses a file from a newer version, naming it, and changes nothing", () => {
    const path = tempFile();
    new SqlitePaymentStore(openDatabase(path)).close();
    const db = new Database(path);
    db.pragma("user_version = 7");
    db.close();
    expect(() => new SqlitePaymentStore(openDatabase(path))).toThrow(StoreVersionError);
    expect(() => new SqlitePaymentStore(openDatabase(path))).toThrow(`payments database ${path} is at schema version 7`);
    const after = new Database(path);
    expect(after.pragma("user_version", { simple: true })).toBe(7);
    after.close();
  });
});

describe("PostgresPaymentStore schema", () => {
  it("refuses a database whose schema is newer than this build knows, and changes nothing", async () => {
    const db = await createTestDatabase("payments_newer");
    try {
      const pool = await openPostgresPool({ connectionString: db.url, maxConnections: 1 });
      await (await PostgresPaymentStore.open(pool)).close();
      const admin = await openPostgresPool({ connectionString: db.url, maxConnections: 1 });
      await admin.query("INSERT INTO payments_schema_version (version, name) VALUES (2, 'from a newer build')");
      const again = await openPostgresPool({ connectionString: db.url, maxConnections: 1 });
      const error = await PostgresPaymentStore.open(again).catch((e: unknown) => e);
      await again.end();
      expect(error).toBeInstanceOf(SchemaTooNewError);
      expect((error as Error).message).toBe(
        "the payments schema in this database is at version 2, and this build knows versions up to 1: refusing to start (run a build that knows the newer schema, or point it at another database)",
      );
      expect((await admin.query("SELECT max(version) AS v FROM payments_schema_version")).rows[0]).toEqual({ v: 2 });
      await admin.end();
    } finally {
      await db.drop();
    }
  });
});
