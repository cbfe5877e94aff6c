import { replayOf } from "#platform/idempotency.js";
import { InsufficientStockError, UnknownProductError } from "./errors.js";
import type { InventoryStore } from "./inventory-store.js";

/**
 * Where one stock take stands: TAKEN (quantities removed) → RESTORED (put back); REJECTED
 * (not enough stock, nothing moved); VOIDED (the restore came first; a tombstone that
 * refuses the late take).
 */
export type ReservationStatus = "TAKEN" | "RESTORED" | "REJECTED" | "VOIDED";

/** A quantity of one product: a line of a take, or the units on hand. */
export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** The record kept under one idempotency key. A tombstone has no lines. */
export interface Reservation {
  readonly key: string;
  readonly lines: readonly StockLine[];
  readonly status: ReservationStatus;
  /** Why it was rejected, kept so that a repeat fails with the same message. */
  readonly reason: string;
}

const sameLines = (a: readonly StockLine[], b: readonly StockLine[]): boolean =>
  a.length === b.length && a.every((l, i) => l.productId === b[i]?.productId && l.quantity === b[i]?.quantity);

/** Quantities per product, in the order products first appear (a product may repeat). */
function totalsOf(lines: readonly StockLine[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const l of lines) totals.set(l.productId, (totals.get(l.productId) ?? 0) + l.quantity);
  return totals;
}

/**
 * The stock of every product and the takes made from it. A take removes every line or
 * none; it and its record commit together inside `store.write`.
 */
export class Inventory {
  constructor(private readonly store: InventoryStore) {}

  /**
   * Takes every line from stock, all or none, once per key. A repeat returns the first
   * record (or fails the same way again) and changes nothing.
   * @throws UnknownProductError (nothing recorded); InsufficientStockError (recorded
   * REJECTED, naming the product); CancelledBeforeArrivalError; KeyReusedError.
   */
  async take(key: string, lines: readonly StockLine[]): Promise<Reservation> {
    const record = await this.store.write(() => {
      const existing = replayOf(this.store.findReservation(key), {
        what: "stock take",
        key,
        isTombstone: (r) => r.status === "VOIDED",
        samePayload: (r) => sameLines(r.lines, lines),
      });
      if (existing) return existing;
      const totals = totalsOf(lines);
      const onHand = new Map<string, number>();
      for (const productId of totals.keys()) {
        const stock = this.store.findStock(productId);
        if (!stock) throw new UnknownProductError(productId);
        onHand.set(productId, stock.quantity);
      }
      for (const [productId, wanted] of totals) {
        const available = onHand.get(productId) ?? 0;
        if (available < wanted) {
          const rejected: Reservation = {
            key,
            lines,
            status: "REJECTED",
            reason: `not enough stock of ${JSON.stringify(productId)}: ${wanted} wanted, ${available} on hand`,
          };
          this.store.insertReservation(rejected);
          return rejected;
        }
      }
      for (const [productId, wanted] of totals) this.store.addToStock(productId, -wanted);
      const taken: Reservation = { key, lines, status: "TAKEN", reason: "" };
      this.store.insertReservation(taken);
      return taken;
    });
    if (record.status === "REJECTED") throw new InsufficientStockError(record.reason);
    return record;
  }

  /**
   * Puts back what the take under `key` removed: TAKEN → RESTORED. With no record, it leaves
   * a VOIDED tombstone so that the late take is refused. Any other record is returned
   * unchanged, so a repeat is harmless.
   */
  async restore(key: string): Promise<Reservation> {
    return this.store.write(() => {
      const existing = this.store.findReservation(key);
      if (!existing) {
        const tombstone: Reservation = { key, lines: [], status: "VOIDED", reason: "" };
        this.store.insertReservation(tombstone);
        return tombstone;
      }
      if (existing.status !== "TAKEN") return existing;
      for (const [productId, quantity] of totalsOf(existing.lines)) this.store.addToStock(productId, quantity);
      this.store.setReservationStatus(key, "RESTORED");
      return { ...existing, status: "RESTORED" };
    });
  }

  /** @throws UnknownProductError */
  getStock(productId: string): StockLine {
    const stock = this.store.findStock(productId);
    if (!stock) throw new UnknownProductError(productId);
    return stock;
  }

  /** Every product's stock, ordered by product id. */
  listStock(): StockLine[] {
    return this.store.listStock();
  }

  /** Up to `limit` take records with a key after `after`, ordered by key. */
  listReservations(after: string | undefined, limit: number): Reservation[] {
    return this.store.listReservations(after, limit);
  }
}
