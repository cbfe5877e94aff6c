import { PendingState } from "#platform/pending-state.js";
import { InsufficientStockError, UnknownProductError } from "./errors.js";
import type { InventoryStore } from "./inventory-store.js";

/**
 * Where one reservation stands (a semantic lock, so that no other saga takes, and no reader
 * counts as gone, units a compensation may still give back): RESERVED (set aside, still on
 * hand) → COMMITTED (gone from stock) or RELEASED (available again); REJECTED (not enough
 * available stock, nothing moved); VOIDED (the release came first; a tombstone that refuses
 * the late reservation).
 */
export type ReservationStatus = "RESERVED" | "COMMITTED" | "RELEASED" | "REJECTED" | "VOIDED";

/** A quantity of one product: a line of a reservation, or the units a new database starts with. */
export interface StockLine {
  readonly productId: string;
  readonly quantity: number;
}

/** Where the units of one product stand. */
export interface Stock {
  readonly productId: string;
  /** Units in the warehouse, reserved ones included. */
  readonly onHand: number;
  /** Units set aside by RESERVED reservations. */
  readonly reserved: number;
  /** onHand − reserved: what may still be reserved. */
  readonly available: number;
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
 * The stock of every product and the reservations made against it. A reservation sets aside
 * every line or none; it and its record commit together inside `store.write`. The
 * pending-state rules (repeats, tombstones, what may be committed or released) are the
 * platform's.
 */
export class Inventory {
  private readonly state: PendingState<Reservation, ReservationStatus>;

  constructor(private readonly store: InventoryStore) {
    this.state = new PendingState({
      what: "reservation",
      confirmVerb: "commit",
      compensateVerb: "release",
      statuses: { pending: "RESERVED", confirmed: "COMMITTED", compensated: "RELEASED", refused: "REJECTED", tombstone: "VOIDED" },
      records: {
        find: (key) => store.findReservation(key),
        insert: (r) => store.insertReservation(r),
        setStatus: (key, s) => store.setReservationStatus(key, s),
      },
      tombstone: (key) => ({ key, lines: [], status: "VOIDED", reason: "" }),
    });
  }

  /**
   * Reserves every line against available stock, all or none, once per key. A repeat returns
   * the first record (or fails the same way again) and changes nothing.
   * @throws UnknownProductError (nothing recorded); InsufficientStockError (recorded
   * REJECTED, naming the product); CancelledBeforeArrivalError; KeyReusedError.
   */
  async reserve(key: string, lines: readonly StockLine[]): Promise<Reservation> {
    const record = await this.store.write(() =>
      this.state.act(
        key,
        (r) => sameLines(r.lines, lines),
        () => {
          const totals = totalsOf(lines);
          const available = new Map<string, number>();
          for (const productId of totals.keys()) {
            const stock = this.store.findStock(productId);
            if (!stock) throw new UnknownProductError(productId);
            available.set(productId, stock.available);
          }
          for (const [productId, wanted] of totals) {
            const left = available.get(productId) ?? 0;
            if (left < wanted) {
              const reason = `not enough stock of ${JSON.stringify(productId)}: ${wanted} wanted, ${left} available`;
              return { key, lines, status: "REJECTED", reason };
            }
          }
          for (const [productId, wanted] of totals) this.store.reserve(productId, wanted);
          return { key, lines, status: "RESERVED", reason: "" };
        },
      ),
    );
    if (record.status === "REJECTED") throw new InsufficientStockError(record.reason);
    return record;
  }

  /**
   * Takes the units reserved under `key` out of stock: RESERVED → COMMITTED. A repeat returns
   * the COMMITTED record.
   * @throws NotConfirmableError with no reservation, or one RELEASED, REJECTED or VOIDED.
   */
  async commit(key: string): Promise<Reservation> {
    return this.store.write(() =>
      this.state.confirm(key, (r) => {
        for (const [productId, quantity] of totalsOf(r.lines)) this.store.commit(productId, quantity);
      }),
    );
  }

  /**
   * Gives back the units reserved under `key`: RESERVED → RELEASED. With no record, it leaves
   * a VOIDED tombstone so that the late reservation is refused. A repeat, or a release of a
   * REJECTED reservation, returns the record unchanged.
   * @throws NotCompensableError when the reservation is COMMITTED.
   */
  async release(key: string): Promise<Reservation> {
    return this.store.write(() =>
      this.state.compensate(key, (r) => {
        for (const [productId, quantity] of totalsOf(r.lines)) this.store.release(productId, quantity);
      }),
    );
  }

  /** @throws UnknownProductError */
  async getStock(productId: string): Promise<Stock> {
    const stock = await this.store.read(() => this.store.findStock(productId));
    if (!stock) throw new UnknownProductError(productId);
    return stock;
  }

  /** Every product's stock, ordered by product id. */
  listStock(): Promise<Stock[]> {
    return this.store.listStock();
  }

  /** Up to `limit` reservation records with a key after `after`, ordered by key. */
  listReservations(after: string | undefined, limit: number): Promise<Reservation[]> {
    return this.store.listReservations(after, limit);
  }
}
