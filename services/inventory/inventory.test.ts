import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_STOCK } from "./demo-data.js";
import { InsufficientStockError, UnknownProductError } from "./errors.js";
import { Inventory, type StockLine } from "./inventory.js";
import { SqliteInventoryStore } from "./inventory-store.js";

const STOCK: StockLine[] = [
  { productId: "mouse", quantity: 10 },
  { productId: "keyboard", quantity: 5 },
  { productId: "webcam", quantity: 0 },
];

function setup(stock: readonly StockLine[] = STOCK) {
  const store = new SqliteInventoryStore(openDatabase(":memory:"));
  store.seedIfEmpty(stock);
  return { store, inventory: new Inventory(store) };
}

const onHand = (inv: Inventory) => Object.fromEntries(inv.listStock().map((s) => [s.productId, s.quantity]));

/** Per product, stock on hand plus what TAKEN records hold: must always equal the initial stock. */
function stockPlusTaken(inv: Inventory): Record<string, number> {
  const totals = onHand(inv);
  for (const r of inv.listReservations(undefined, 10_000)) {
    if (r.status !== "TAKEN") continue;
    for (const l of r.lines) totals[l.productId] = (totals[l.productId] ?? 0) + l.quantity;
  }
  return totals;
}

describe("Inventory.take", () => {
  it("takes every line and records TAKEN", async () => {
    const { inventory } = setup();
    const r = await inventory.take("k1", [
      { productId: "mouse", quantity: 3 },
      { productId: "keyboard", quantity: 5 },
    ]);
    expect(r.status).toBe("TAKEN");
    expect(onHand(inventory)).toEqual({ mouse: 7, keyboard: 0, webcam: 0 });
  });

  it("adds up repeated products before checking", async () => {
    const { inventory } = setup();
    const lines = [
      { productId: "keyboard", quantity: 3 },
      { productId: "keyboard", quantity: 3 },
    ];
    await expect(inventory.take("k1", lines)).rejects.toBeInstanceOf(InsufficientStockError);
    expect(onHand(inventory).keyboard).toBe(5);
    await inventory.take("k2", [lines[0]!, { productId: "keyboard", quantity: 2 }]);
    expect(onHand(inventory).keyboard).toBe(0);
  });

  it("takes all or nothing: one short line leaves every product untouched, recorded REJECTED", async () => {
    const { inventory } = setup();
    const err = await inventory
      .take("k1", [
        { productId: "mouse", quantity: 3 },
        { productId: "keyboard", quantity: 6 },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientStockError);
    expect((err as Error).message).toContain('"keyboard"');
    expect(onHand(inventory)).toEqual({ mouse: 10, keyboard: 5, webcam: 0 });
    expect(inventory.listReservations(undefined, 10)).toMatchObject([{ key: "k1", status: "REJECTED" }]);
  });

  it("records nothing for an unknown product, and names it", async () => {
    const { inventory } = setup();
    const err = await inventory
      .take("k1", [
        { productId: "mouse", quantity: 1 },
        { productId: "tablet", quantity: 1 },
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownProductError);
    expect((err as Error).message).toContain('"tablet"');
    expect(onHand(inventory).mouse).toBe(10);
    expect(inventory.listReservations(undefined, 10)).toEqual([]);
  });

  it("returns the first record on a repeat and takes once", async () => {
    const { inventory } = setup();
    const lines = [{ productId: "mouse", quantity: 4 }];
    const first = await inventory.take("k1", lines);
    expect(await inventory.take("k1", lines)).toEqual(first);
    const [a, b] = await Promise.all([inventory.take("k2", lines), inventory.take("k2", lines)]);
    expect(a).toEqual(b);
    expect(onHand(inventory).mouse).toBe(2);
  });

  it("keeps a rejected take rejected, with the same message, even after stock returns", async () => {
    const { inventory } = setup();
    await inventory.take("k1", [{ productId: "keyboard", quantity: 4 }]);
    const lines = [{ productId: "keyboard", quantity: 3 }];
    const first = await inventory.take("k2", lines).catch((e: unknown) => e);
    await inventory.restore("k1");
    const again = await inventory.take("k2", lines).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(InsufficientStockError);
    expect((again as Error).message).toBe((first as Error).message);
    expect(onHand(inventory).keyboard).toBe(5);
  });

  it("refuses the same key with other lines, changing nothing", async () => {
    const { inventory } = setup();
    await inventory.take("k1", [{ productId: "mouse", quantity: 1 }]);
    await expect(inventory.take("k1", [{ productId: "mouse", quantity: 2 }])).rejects.toBeInstanceOf(KeyReusedError);
    await expect(
      inventory.take("k1", [
        { productId: "mouse", quantity: 1 },
        { productId: "keyboard", quantity: 1 },
      ]),
    ).rejects.toBeInstanceOf(KeyReusedError);
    expect(onHand(inventory)).toEqual({ mouse: 9, keyboard: 5, webcam: 0 });
  });
});

describe("Inventory.restore", () => {
  it("puts back a take once, however often it is repeated", async () => {
    const { inventory } = setup();
    await inventory.take("k1", [
      { productId: "mouse", quantity: 2 },
      { productId: "mouse", quantity: 3 },
      { productId: "keyboard", quantity: 1 },
    ]);
    const first = await inventory.restore("k1");
    expect(first.status).toBe("RESTORED");
    expect(await inventory.restore("k1")).toEqual(first);
    expect(onHand(inventory)).toEqual({ mouse: 10, keyboard: 5, webcam: 0 });
  });

  it("leaves a tombstone when it comes first, and the late take is refused", async () => {
    const { inventory } = setup();
    const tombstone = await inventory.restore("k1");
    expect(tombstone).toMatchObject({ status: "VOIDED", lines: [] });
    await expect(inventory.take("k1", [{ productId: "mouse", quantity: 1 }])).rejects.toBeInstanceOf(
      CancelledBeforeArrivalError,
    );
    expect(onHand(inventory).mouse).toBe(10);
    expect(await inventory.restore("k1")).toEqual(tombstone);
  });

  it("changes nothing on a REJECTED take", async () => {
    const { inventory } = setup();
    await inventory.take("k1", [{ productId: "webcam", quantity: 1 }]).catch(() => undefined);
    expect((await inventory.restore("k1")).status).toBe("REJECTED");
    expect(onHand(inventory)).toEqual({ mouse: 10, keyboard: 5, webcam: 0 });
  });
});

describe("Inventory stock", () => {
  it("keeps stock + taken = initial under random takes, repeats and restores", async () => {
    const line = fc.record({
      productId: fc.constantFrom("mouse", "keyboard", "webcam", "tablet"),
      quantity: fc.integer({ min: 1, max: 6 }),
    });
    const op = fc.oneof(
      fc.record({ kind: fc.constant("take" as const), key: fc.constantFrom("k1", "k2", "k3"), lines: fc.array(line, { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant("restore" as const), key: fc.constantFrom("k1", "k2", "k3") }),
    );
    const initial = Object.fromEntries(STOCK.map((s) => [s.productId, s.quantity]));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), async (turns) => {
        const { inventory, store } = setup();
        const restoredFirst = new Set<string>();
        const seen = new Set<string>();
        for (const turn of turns) {
          await Promise.allSettled(
            turn.map((o) => {
              if (!seen.has(o.key) && o.kind === "restore") restoredFirst.add(o.key);
              seen.add(o.key);
              return o.kind === "take" ? inventory.take(o.key, o.lines) : inventory.restore(o.key);
            }),
          );
          expect(stockPlusTaken(inventory)).toEqual(initial);
        }
        for (const key of restoredFirst) expect(inventory.listReservations(undefined, 10).find((r) => r.key === key)?.status).toBe("VOIDED");
        store.close();
      }),
      { numRuns: 150 },
    );
  });
});

describe("SqliteInventoryStore on a file", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("keeps its data after close and reopen, and seeds only once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "inventory-"));
    dirs.push(dir);
    const path = join(dir, "inventory.db");
    const first = new SqliteInventoryStore(openDatabase(path));
    expect(first.seedIfEmpty(DEMO_STOCK)).toBe(true);
    await new Inventory(first).take("k1", [{ productId: "monitor", quantity: 10 }]);
    first.close();

    const second = new SqliteInventoryStore(openDatabase(path));
    expect(second.seedIfEmpty(DEMO_STOCK)).toBe(false);
    const inventory = new Inventory(second);
    expect(inventory.getStock("monitor").quantity).toBe(9_990);
    expect(inventory.listReservations(undefined, 10)).toMatchObject([{ key: "k1", status: "TAKEN", lines: [{ productId: "monitor", quantity: 10 }] }]);
    expect(inventory.listStock()).toHaveLength(DEMO_STOCK.length);
    second.close();
  });
});
