import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import Database from "better-sqlite3";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";
import { NotCompensableError, NotConfirmableError } from "#platform/pending-state.js";
import { openDatabase } from "#platform/sqlite.js";
import { postgresDatabaseForTestFile, sqliteFileForEachTest } from "#platform/service-stores-for-tests.js";
import { PurchaseNotFoundError, PurchaseRejectedError } from "./errors.js";
import { SqlitePurchaseStore, type PurchaseStore } from "./purchase-store.js";
import { PostgresPurchaseStore } from "./postgres-purchase-store.js";
import { Purchases, type PurchaseRequest, type PurchasesOptions } from "./purchases.js";

// The domain's tests are the store contract: they run on both stores. PostgreSQL: one database
// for the file, emptied before each setup.
const postgres = postgresDatabaseForTestFile("purchases_test");

const BACKENDS = [
  {
    name: "SQLite",
    runs: 150,
    async open(): Promise<PurchaseStore & { close(): unknown }> {
      return new SqlitePurchaseStore(openDatabase(":memory:"));
    },
  },
  {
    name: "PostgreSQL",
    runs: 40,
    async open(): Promise<PurchaseStore & { close(): unknown }> {
      const store = await postgres.openEmptiedStore((pool) => PostgresPurchaseStore.open(pool), "purchases");
      return store;
    },
  },
];

const order = (key: string, quantity = 2, customerId = "customer-1"): PurchaseRequest => ({
  key,
  customerId,
  lines: [{ productId: "mouse", quantity, unitPriceCents: 2_500 }],
  totalCents: quantity * 2_500,
});

describe.each(BACKENDS)("on $name", ({ open, runs }) => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  async function setup(options?: PurchasesOptions) {
    const store = await open();
    opened.push(store);
    return { store, purchases: new Purchases(store, options) };
  }

  describe("Purchases.process", () => {
    it("records a PENDING purchase", async () => {
      const { purchases } = await setup();
      const p = await purchases.process(order("k1"));
      expect(p).toMatchObject({ key: "k1", customerId: "customer-1", totalCents: 5_000, status: "PENDING" });
      expect(await purchases.getPurchase("k1")).toEqual(p);
    });

    it("accepts exactly 10 units over several lines, and rejects 11 (recorded REJECTED)", async () => {
      const { purchases } = await setup();
      const ten: PurchaseRequest = {
        key: "k1",
        customerId: "c",
        lines: [
          { productId: "mouse", quantity: 6, unitPriceCents: 1 },
          { productId: "keyboard", quantity: 4, unitPriceCents: 1 },
        ],
        totalCents: 10,
      };
      expect((await purchases.process(ten)).status).toBe("PENDING");
      const eleven = { ...ten, key: "k2", lines: [...ten.lines, { productId: "webcam", quantity: 1, unitPriceCents: 1 }], totalCents: 11 };
      const err = await purchases.process(eleven).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PurchaseRejectedError);
      expect((err as Error).message).toMatch(/at most 10 units/);
      expect((await purchases.getPurchase("k2")).status).toBe("REJECTED");
    });

    it("takes the unit limit from its options", async () => {
      const { purchases } = await setup({ maxUnitsPerOrder: 3 });
      await expect(purchases.process(order("k1", 4))).rejects.toBeInstanceOf(PurchaseRejectedError);
      expect((await purchases.process(order("k2", 3))).status).toBe("PENDING");
    });

    it("returns the first record on a repeat, once even within one batch", async () => {
      const { purchases } = await setup();
      const first = await purchases.process(order("k1"));
      expect(await purchases.process(order("k1"))).toEqual(first);
      const [a, b] = await Promise.all([purchases.process(order("k2")), purchases.process(order("k2"))]);
      expect(a).toEqual(b);
      expect(await purchases.listPurchases(undefined, 10)).toHaveLength(2);
    });

    it("fails a rejected purchase again on a repeat", async () => {
      const { purchases } = await setup();
      await expect(purchases.process(order("k1", 11))).rejects.toBeInstanceOf(PurchaseRejectedError);
      await expect(purchases.process(order("k1", 11))).rejects.toBeInstanceOf(PurchaseRejectedError);
      expect(await purchases.listPurchases(undefined, 10)).toHaveLength(1);
    });

    it("refuses the same key with another payload, changing nothing", async () => {
      const { purchases } = await setup();
      const first = await purchases.process(order("k1"));
      await expect(purchases.process(order("k1", 3))).rejects.toBeInstanceOf(KeyReusedError);
      await expect(purchases.process(order("k1", 2, "customer-2"))).rejects.toBeInstanceOf(KeyReusedError);
      await expect(
        purchases.process({ ...order("k1"), lines: [{ productId: "mouse", quantity: 2, unitPriceCents: 2_400 }], totalCents: 4_800 }),
      ).rejects.toBeInstanceOf(KeyReusedError);
      expect(await purchases.getPurchase("k1")).toEqual(first);
    });

    it("returns the CANCELLED record for a repeat after cancellation", async () => {
      const { purchases } = await setup();
      await purchases.process(order("k1"));
      await purchases.cancel("k1");
      expect((await purchases.process(order("k1"))).status).toBe("CANCELLED");
    });
  });

  describe("Purchases.confirm", () => {
    it("confirms a pending purchase, idempotently, and a later process returns it CONFIRMED", async () => {
      const { purchases } = await setup();
      await purchases.process(order("k1"));
      const first = await purchases.confirm("k1");
      expect(first.status).toBe("CONFIRMED");
      expect(await purchases.confirm("k1")).toEqual(first);
      expect(await purchases.process(order("k1"))).toEqual(first);
    });

    it("refuses, changing nothing, with no purchase, after a cancellation, a rejection or a tombstone", async () => {
      const { purchases } = await setup();
      await expect(purchases.confirm("none")).rejects.toThrow('cannot confirm purchase "none": there is none');
      await expect(purchases.getPurchase("none")).rejects.toThrow(PurchaseNotFoundError);
      await purchases.process(order("cancelled"));
      await purchases.cancel("cancelled");
      await purchases.process(order("rejected", 11)).catch(() => undefined);
      await purchases.cancel("tombstone");
      for (const [key, status] of [
        ["cancelled", "CANCELLED"],
        ["rejected", "REJECTED"],
        ["tombstone", "VOIDED"],
      ] as const) {
        const e = await purchases.confirm(key).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(NotConfirmableError);
        expect((e as Error).message).toBe(`cannot confirm purchase "${key}": it is ${status}`);
        expect((await purchases.getPurchase(key)).status).toBe(status);
      }
    });
  });

  describe("Purchases.cancel", () => {
    it("cancels a pending purchase, idempotently", async () => {
      const { purchases } = await setup();
      await purchases.process(order("k1"));
      const first = await purchases.cancel("k1");
      expect(first.status).toBe("CANCELLED");
      expect(await purchases.cancel("k1")).toEqual(first);
    });

    it("refuses to cancel a CONFIRMED purchase, changing nothing", async () => {
      const { purchases } = await setup();
      await purchases.process(order("k1"));
      await purchases.confirm("k1");
      const e = await purchases.cancel("k1").catch((err: unknown) => err);
      expect(e).toBeInstanceOf(NotCompensableError);
      expect((e as Error).message).toBe('cannot cancel purchase "k1": it is CONFIRMED, which is final');
      expect((await purchases.getPurchase("k1")).status).toBe("CONFIRMED");
    });

    it("leaves a tombstone when it comes first, and the late purchase is refused", async () => {
      const { purchases } = await setup();
      const tombstone = await purchases.cancel("k1");
      expect(tombstone).toMatchObject({ key: "k1", status: "VOIDED", lines: [], totalCents: 0 });
      await expect(purchases.process(order("k1"))).rejects.toBeInstanceOf(CancelledBeforeArrivalError);
      expect(await purchases.getPurchase("k1")).toEqual(tombstone);
      expect(await purchases.cancel("k1")).toEqual(tombstone);
    });

    it("changes nothing on a REJECTED purchase", async () => {
      const { purchases } = await setup();
      await purchases.process(order("k1", 20)).catch(() => undefined);
      expect((await purchases.cancel("k1")).status).toBe("REJECTED");
    });

    it("getPurchase throws for an unknown key", async () => {
      const { purchases } = await setup();
      await expect(purchases.getPurchase("nope")).rejects.toThrow(PurchaseNotFoundError);
    });
  });

  describe("Purchases invariants", () => {
    it("keep one record per key, confirmed only if never cancelled first, under random sequences", async () => {
      const op = fc.oneof(
        fc.record({
          kind: fc.constant("process" as const),
          key: fc.constantFrom("k1", "k2", "k3"),
          quantity: fc.integer({ min: 1, max: 14 }),
          customerId: fc.constantFrom("customer-1", "customer-2"),
        }),
        fc.record({ kind: fc.constant("cancel" as const), key: fc.constantFrom("k1", "k2", "k3") }),
        fc.record({ kind: fc.constant("confirm" as const), key: fc.constantFrom("k1", "k2", "k3") }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), async (turns) => {
          const { purchases, store } = await setup();
          const cancelledFirst = new Set<string>();
          const everCancelled = new Set<string>();
          const everConfirmed = new Set<string>();
          const seen = new Set<string>();
          for (const turn of turns) {
            await Promise.allSettled(
              turn.map((o) => {
                if (o.kind === "confirm") {
                  everConfirmed.add(o.key);
                  return purchases.confirm(o.key);
                }
                if (!seen.has(o.key) && o.kind === "cancel") cancelledFirst.add(o.key);
                if (o.kind === "cancel") everCancelled.add(o.key);
                seen.add(o.key);
                return o.kind === "cancel" ? purchases.cancel(o.key) : purchases.process(order(o.key, o.quantity, o.customerId));
              }),
            );
          }
          const records = await purchases.listPurchases(undefined, 100);
          expect(new Set(records.map((r) => r.key)).size).toBe(records.length);
          // A confirmation never creates a record.
          expect(records.map((r) => r.key).sort()).toEqual([...seen].sort());
          for (const r of records) {
            if (cancelledFirst.has(r.key)) expect(r.status).toBe("VOIDED");
            if (r.status === "CONFIRMED") {
              expect(everConfirmed.has(r.key)).toBe(true);
              expect(r.lines.reduce((s, l) => s + l.quantity, 0)).toBeLessThanOrEqual(10);
            }
            if (r.status === "PENDING") expect(everCancelled.has(r.key)).toBe(false);
            if (r.status === "CANCELLED") expect(everCancelled.has(r.key)).toBe(true);
          }
          opened.splice(opened.indexOf(store), 1);
          await store.close();
        }),
        { numRuns: runs },
      );
    });
  });
});

describe("SqlitePurchaseStore on a file", () => {
  const tempFile = sqliteFileForEachTest("purchases");

  it("keeps its data after close and reopen", async () => {
    const path = tempFile();
    const first = new SqlitePurchaseStore(openDatabase(path));
    const created = await new Purchases(first).process(order("k1"));
    await new Purchases(first).cancel("k0");
    first.close();

    const second = new SqlitePurchaseStore(openDatabase(path));
    const purchases = new Purchases(second);
    expect(await purchases.getPurchase("k1")).toEqual(created);
    expect((await purchases.listPurchases(undefined, 10)).map((p) => [p.key, p.status])).toEqual([
      ["k0", "VOIDED"],
      ["k1", "PENDING"],
    ]);
    await expect(purchases.process(order("k0"))).rejects.toBeInstanceOf(CancelledBeforeArrivalError);
    second.close();
  });

  it("migrates a file of the previous version: its purchases keep their statuses, and PENDING becomes possible", async () => {
    const path = tempFile();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE purchases (key TEXT PRIMARY KEY, customer_id TEXT NOT NULL, lines TEXT NOT NULL,
        total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
        status TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED', 'REJECTED', 'VOIDED')), reason TEXT NOT NULL DEFAULT '') STRICT;
      INSERT INTO purchases VALUES ('a', 'c', '[{"productId":"mouse","quantity":1,"unitPriceCents":5}]', 5, 'CONFIRMED', ''),
        ('b', 'c', '[]', 0, 'VOIDED', '');
    `);
    old.close();
    const store = new SqlitePurchaseStore(openDatabase(path));
    const purchases = new Purchases(store);
    expect(await purchases.getPurchase("a")).toMatchObject({ status: "CONFIRMED", lines: [{ productId: "mouse", quantity: 1, unitPriceCents: 5 }] });
    expect((await purchases.process(order("c"))).status).toBe("PENDING");
    await expect(purchases.cancel("a")).rejects.toBeInstanceOf(NotCompensableError);
    store.close();
  });
});
