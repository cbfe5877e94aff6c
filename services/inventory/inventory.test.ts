import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";
import { NotCompensableError, NotConfirmableError } from "#platform/pending-state.js";
import { openDatabase } from "#platform/sqlite.js";
import { postgresDatabaseForTestFile, sqliteFileForEachTest } from "#platform/service-stores-for-tests.js";
import { DEMO_STOCK } from "./demo-data.js";
import { InsufficientStockError, UnknownProductError } from "./errors.js";
import { Inventory, type StockLine } from "./inventory.js";
import { SqliteInventoryStore, type InventoryStore } from "./inventory-store.js";
import { PostgresInventoryStore } from "./postgres-inventory-store.js";

const STOCK: StockLine[] = [
  { productId: "mouse", quantity: 10 },
  { productId: "keyboard", quantity: 5 },
  { productId: "webcam", quantity: 0 },
];

// The domain's tests are the store contract: they run on both stores. PostgreSQL: one database
// for the file, emptied before each setup.
const postgres = postgresDatabaseForTestFile("inventory_test");

const BACKENDS = [
  {
    name: "SQLite",
    runs: 150,
    async open(stock: readonly StockLine[]): Promise<InventoryStore & { close(): unknown }> {
      const store = new SqliteInventoryStore(openDatabase(":memory:"));
      store.seedIfEmpty(stock);
      return store;
    },
  },
  {
    name: "PostgreSQL",
    runs: 40,
    async open(stock: readonly StockLine[]): Promise<InventoryStore & { close(): unknown }> {
      const store = await postgres.openEmptiedStore((pool) => PostgresInventoryStore.open(pool), "stock, reservations");
      await store.seedIfEmpty(stock);
      return store;
    },
  },
];

/** Per product: [on hand, reserved, available]. */
const levels = async (inv: Inventory) => Object.fromEntries((await inv.listStock()).map((s) => [s.productId, [s.onHand, s.reserved, s.available]]));
const available = async (inv: Inventory) => Object.fromEntries((await inv.listStock()).map((s) => [s.productId, s.available]));

/**
 * The stock invariants, per product: initial on_hand − Σ COMMITTED = on_hand; reserved = Σ
 * RESERVED; 0 ≤ reserved ≤ on_hand. Returns what is broken.
 */
async function brokenStock(inv: Inventory, initial: readonly StockLine[]): Promise<string[]> {
  const committed = new Map<string, number>();
  const reserved = new Map<string, number>();
  for (const r of await inv.listReservations(undefined, 10_000)) {
    const into = r.status === "COMMITTED" ? committed : r.status === "RESERVED" ? reserved : undefined;
    for (const l of into ? r.lines : []) into!.set(l.productId, (into!.get(l.productId) ?? 0) + l.quantity);
  }
  return (await inv.listStock()).flatMap((s) => {
    const start = initial.find((i) => i.productId === s.productId)?.quantity ?? 0;
    const broken: string[] = [];
    if (s.onHand !== start - (committed.get(s.productId) ?? 0)) broken.push(`${s.productId} on hand`);
    if (s.reserved !== (reserved.get(s.productId) ?? 0)) broken.push(`${s.productId} reserved`);
    if (s.reserved < 0 || s.reserved > s.onHand || s.available !== s.onHand - s.reserved) broken.push(`${s.productId} bounds`);
    return broken;
  });
}

describe.each(BACKENDS)("on $name", ({ open, runs }) => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  async function setup(stock: readonly StockLine[] = STOCK) {
    const store = await open(stock);
    opened.push(store);
    return { store, inventory: new Inventory(store) };
  }

  describe("Inventory.reserve", () => {
    it("reserves every line, records RESERVED, and leaves on hand as it was", async () => {
      const { inventory } = await setup();
      const r = await inventory.reserve("k1", [
        { productId: "mouse", quantity: 3 },
        { productId: "keyboard", quantity: 5 },
      ]);
      expect(r.status).toBe("RESERVED");
      expect(await levels(inventory)).toEqual({ mouse: [10, 3, 7], keyboard: [5, 5, 0], webcam: [0, 0, 0] });
    });

    it("reserves against what is available, not what is on hand", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [{ productId: "keyboard", quantity: 4 }]);
      await expect(inventory.reserve("k2", [{ productId: "keyboard", quantity: 2 }])).rejects.toThrow(
        'not enough stock of "keyboard": 2 wanted, 1 available',
      );
      expect((await levels(inventory)).keyboard).toEqual([5, 4, 1]);
    });

    it("adds up repeated products before checking", async () => {
      const { inventory } = await setup();
      const lines = [
        { productId: "keyboard", quantity: 3 },
        { productId: "keyboard", quantity: 3 },
      ];
      await expect(inventory.reserve("k1", lines)).rejects.toBeInstanceOf(InsufficientStockError);
      expect((await available(inventory)).keyboard).toBe(5);
      await inventory.reserve("k2", [lines[0]!, { productId: "keyboard", quantity: 2 }]);
      expect((await available(inventory)).keyboard).toBe(0);
    });

    it("reserves all or nothing: one short line leaves every product untouched, recorded REJECTED", async () => {
      const { inventory } = await setup();
      const err = await inventory
        .reserve("k1", [
          { productId: "mouse", quantity: 3 },
          { productId: "keyboard", quantity: 6 },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InsufficientStockError);
      expect((err as Error).message).toContain('"keyboard"');
      expect(await levels(inventory)).toEqual({ mouse: [10, 0, 10], keyboard: [5, 0, 5], webcam: [0, 0, 0] });
      expect(await inventory.listReservations(undefined, 10)).toMatchObject([{ key: "k1", status: "REJECTED" }]);
    });

    it("records nothing for an unknown product, and names it", async () => {
      const { inventory } = await setup();
      const err = await inventory
        .reserve("k1", [
          { productId: "mouse", quantity: 1 },
          { productId: "tablet", quantity: 1 },
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnknownProductError);
      expect((err as Error).message).toContain('"tablet"');
      expect((await available(inventory)).mouse).toBe(10);
      expect(await inventory.listReservations(undefined, 10)).toEqual([]);
    });

    it("returns the first record on a repeat and reserves once, also within one batch", async () => {
      const { inventory } = await setup();
      const lines = [{ productId: "mouse", quantity: 4 }];
      const first = await inventory.reserve("k1", lines);
      expect(await inventory.reserve("k1", lines)).toEqual(first);
      const [a, b] = await Promise.all([inventory.reserve("k2", lines), inventory.reserve("k2", lines)]);
      expect(a).toEqual(b);
      expect((await levels(inventory)).mouse).toEqual([10, 8, 2]);
    });

    it("keeps a rejected reservation rejected, with the same message, even after stock is released", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [{ productId: "keyboard", quantity: 4 }]);
      const lines = [{ productId: "keyboard", quantity: 3 }];
      const first = await inventory.reserve("k2", lines).catch((e: unknown) => e);
      await inventory.release("k1");
      const again = await inventory.reserve("k2", lines).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(InsufficientStockError);
      expect((again as Error).message).toBe((first as Error).message);
      expect((await levels(inventory)).keyboard).toEqual([5, 0, 5]);
    });

    it("refuses the same key with other lines, changing nothing", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [{ productId: "mouse", quantity: 1 }]);
      await expect(inventory.reserve("k1", [{ productId: "mouse", quantity: 2 }])).rejects.toBeInstanceOf(KeyReusedError);
      await expect(
        inventory.reserve("k1", [
          { productId: "mouse", quantity: 1 },
          { productId: "keyboard", quantity: 1 },
        ]),
      ).rejects.toBeInstanceOf(KeyReusedError);
      expect(await levels(inventory)).toEqual({ mouse: [10, 1, 9], keyboard: [5, 0, 5], webcam: [0, 0, 0] });
    });
  });

  it("reserves an order of 100 lines (the most a request may carry), each a product of its own", async () => {
    const products = Array.from({ length: 100 }, (_, i) => ({ productId: `p${String(i).padStart(3, "0")}`, quantity: 5 }));
    const { inventory } = await setup(products);
    const lines = products.map((p) => ({ productId: p.productId, quantity: 2 }));
    expect((await inventory.reserve("big", lines)).status).toBe("RESERVED");
    expect((await inventory.listStock()).every((s) => s.reserved === 2 && s.available === 3)).toBe(true);
  });

  describe("Inventory.commit", () => {
    it("takes the reserved units out of stock, once however often it is repeated", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [
        { productId: "mouse", quantity: 2 },
        { productId: "mouse", quantity: 1 },
      ]);
      const first = await inventory.commit("k1");
      expect(first.status).toBe("COMMITTED");
      expect(await inventory.commit("k1")).toEqual(first);
      expect((await levels(inventory)).mouse).toEqual([7, 0, 7]);
    });

    it("refuses, changing nothing, with no reservation, after a release, a rejection or a tombstone", async () => {
      const { inventory } = await setup();
      await expect(inventory.commit("none")).rejects.toThrow('cannot commit reservation "none": there is none');
      await inventory.reserve("released", [{ productId: "mouse", quantity: 2 }]);
      await inventory.release("released");
      await inventory.reserve("rejected", [{ productId: "webcam", quantity: 1 }]).catch(() => undefined);
      await inventory.release("tombstone");
      for (const [key, status] of [
        ["released", "RELEASED"],
        ["rejected", "REJECTED"],
        ["tombstone", "VOIDED"],
      ] as const) {
        const e = await inventory.commit(key).catch((err: unknown) => err);
        expect(e).toBeInstanceOf(NotConfirmableError);
        expect((e as Error).message).toBe(`cannot commit reservation "${key}": it is ${status}`);
      }
      expect(await levels(inventory)).toEqual({ mouse: [10, 0, 10], keyboard: [5, 0, 5], webcam: [0, 0, 0] });
      expect((await inventory.listReservations(undefined, 10)).map((r) => r.key)).toEqual(["rejected", "released", "tombstone"]);
    });
  });

  describe("Inventory.release", () => {
    it("gives the reserved units back once, however often it is repeated", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [{ productId: "mouse", quantity: 3 }]);
      const first = await inventory.release("k1");
      expect(first.status).toBe("RELEASED");
      expect(await inventory.release("k1")).toEqual(first);
      expect((await levels(inventory)).mouse).toEqual([10, 0, 10]);
      expect((await inventory.reserve("k1", [{ productId: "mouse", quantity: 3 }])).status).toBe("RELEASED");
    });

    it("leaves a tombstone when it comes first, and the late reservation is refused", async () => {
      const { inventory } = await setup();
      const tombstone = await inventory.release("k1");
      expect(tombstone).toMatchObject({ key: "k1", status: "VOIDED", lines: [] });
      await expect(inventory.reserve("k1", [{ productId: "mouse", quantity: 1 }])).rejects.toBeInstanceOf(CancelledBeforeArrivalError);
      expect((await available(inventory)).mouse).toBe(10);
      expect(await inventory.release("k1")).toEqual(tombstone);
    });

    it("changes nothing on a REJECTED reservation, and succeeds", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [{ productId: "webcam", quantity: 1 }]).catch(() => undefined);
      expect((await inventory.release("k1")).status).toBe("REJECTED");
      expect((await levels(inventory)).webcam).toEqual([0, 0, 0]);
    });

    it("refuses to release a COMMITTED reservation, changing nothing", async () => {
      const { inventory } = await setup();
      await inventory.reserve("k1", [{ productId: "keyboard", quantity: 2 }]);
      await inventory.commit("k1");
      const e = await inventory.release("k1").catch((err: unknown) => err);
      expect(e).toBeInstanceOf(NotCompensableError);
      expect((e as Error).message).toBe('cannot release reservation "k1": it is COMMITTED, which is final');
      expect((await levels(inventory)).keyboard).toEqual([3, 0, 3]);
    });
  });

  describe("Inventory stock", () => {
    it("keeps on hand = initial − committed and reserved = Σ reserved under random reservations, commits and releases", async () => {
      const key = fc.constantFrom("k1", "k2", "k3", "k4");
      const op = fc.oneof(
        fc.record({
          kind: fc.constant("reserve" as const),
          key,
          lines: fc.array(fc.record({ productId: fc.constantFrom("mouse", "keyboard", "webcam"), quantity: fc.integer({ min: 1, max: 7 }) }), {
            minLength: 1,
            maxLength: 3,
          }),
        }),
        fc.record({ kind: fc.constant("commit" as const), key }),
        fc.record({ kind: fc.constant("release" as const), key }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), async (turns) => {
          const { inventory, store } = await setup();
          for (const turn of turns) {
            await Promise.allSettled(
              turn.map((o) =>
                o.kind === "reserve" ? inventory.reserve(o.key, o.lines) : o.kind === "commit" ? inventory.commit(o.key) : inventory.release(o.key),
              ),
            );
            expect(await brokenStock(inventory, STOCK)).toEqual([]);
          }
          opened.splice(opened.indexOf(store), 1);
          await store.close();
        }),
        { numRuns: runs },
      );
    });
  });
});

describe("SqliteInventoryStore on a file", () => {
  const tempFile = sqliteFileForEachTest("inventory");

  it("keeps its data after close and reopen, and seeds only once", async () => {
    const path = tempFile();
    const first = new SqliteInventoryStore(openDatabase(path));
    expect(first.seedIfEmpty(DEMO_STOCK)).toBe(true);
    await new Inventory(first).reserve("k1", [{ productId: "monitor", quantity: 10 }]);
    first.close();

    const second = new SqliteInventoryStore(openDatabase(path));
    expect(second.seedIfEmpty(DEMO_STOCK)).toBe(false);
    const inventory = new Inventory(second);
    expect(await inventory.getStock("monitor")).toEqual({ productId: "monitor", onHand: 10_000, reserved: 10, available: 9_990 });
    expect(await inventory.listStock()).toHaveLength(DEMO_STOCK.length);
    second.close();
  });

  it("migrates a file of the previous version: quantity becomes on hand, takes commits, restores releases", async () => {
    const path = tempFile();
    const old = new Database(path);
    old.exec(`
      CREATE TABLE stock (product_id TEXT PRIMARY KEY, quantity INTEGER NOT NULL CHECK (quantity >= 0)) STRICT;
      CREATE TABLE reservations (key TEXT PRIMARY KEY, lines TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('TAKEN', 'RESTORED', 'REJECTED', 'VOIDED')), reason TEXT NOT NULL DEFAULT '') STRICT;
      INSERT INTO stock VALUES ('mouse', 8), ('webcam', 0);
      INSERT INTO reservations VALUES ('t', '[{"productId":"mouse","quantity":2}]', 'TAKEN', ''),
        ('r', '[{"productId":"mouse","quantity":1}]', 'RESTORED', ''), ('v', '[]', 'VOIDED', '');
    `);
    old.close();
    const store = new SqliteInventoryStore(openDatabase(path));
    const inventory = new Inventory(store);
    expect(await levels(inventory)).toEqual({ mouse: [8, 0, 8], webcam: [0, 0, 0] });
    expect((await inventory.listReservations(undefined, 10)).map((r) => [r.key, r.status])).toEqual([
      ["r", "RELEASED"],
      ["t", "COMMITTED"],
      ["v", "VOIDED"],
    ]);
    expect(store.seedIfEmpty(DEMO_STOCK)).toBe(false);
    const raw = new Database(path);
    expect(() => raw.prepare("UPDATE stock SET reserved = 9 WHERE product_id = 'mouse'").run()).toThrow(/CHECK constraint failed/);
    raw.close();
    store.close();
  });
});
