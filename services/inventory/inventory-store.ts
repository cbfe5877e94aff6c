import type { SqliteDatabase } from "#platform/sqlite.js";
import { SqliteServiceStore, type StoreSchema } from "#platform/service-store.js";
import type { WriteBatcher } from "#platform/write-batcher.js";
import type { Reservation, ReservationStatus, Stock, StockLine } from "./inventory.js";

/**
 * What the inventory domain needs from storage, on SQLite ({@link SqliteInventoryStore}) or
 * PostgreSQL (`PostgresInventoryStore`). The keyed accessors (find, reserve, insert…) are
 * synchronous and are called inside `write` (one atomic, group-committed write) or `read`
 * (keyed reads of committed state); the lists are queries of their own.
 */
export interface InventoryStore {
  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T>;
  /** Runs synchronous keyed reads against committed state. */
  read<T>(work: () => T): Promise<T>;
  findStock(productId: string): Stock | undefined;
  /** Every product's stock, ordered by product id. */
  listStock(): Promise<Stock[]>;
  /** Sets `quantity` more units of a product aside. */
  reserve(productId: string, quantity: number): void;
  /** Gives `quantity` reserved units back to available. */
  release(productId: string, quantity: number): void;
  /** Takes `quantity` reserved units out of stock. */
  commit(productId: string, quantity: number): void;
  findReservation(key: string): Reservation | undefined;
  insertReservation(record: Reservation): void;
  setReservationStatus(key: string, status: ReservationStatus): void;
  /** Up to `limit` records with a key after `after`, ordered by key. */
  listReservations(after: string | undefined, limit: number): Promise<Reservation[]>;
}

// The CHECKs make overselling impossible even under a bug: a reservation beyond what is on
// hand, a commit beyond what is reserved, or a negative count fails the write.
const stockTable = (name: string): string => `
CREATE TABLE ${name} (
  product_id TEXT PRIMARY KEY,
  on_hand    INTEGER NOT NULL CHECK (on_hand >= 0),
  reserved   INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  CHECK (reserved <= on_hand)
) STRICT;`;
const reservationsTable = (name: string): string => `
CREATE TABLE ${name} (
  key    TEXT PRIMARY KEY,
  lines  TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('RESERVED', 'COMMITTED', 'RELEASED', 'REJECTED', 'VOIDED')),
  reason TEXT NOT NULL DEFAULT ''
) STRICT;`;

/**
 * Version 2 (pending states). Version 1 took stock at once: its `quantity` is what is on hand,
 * TAKEN units are gone (now COMMITTED), RESTORED ones came back (now RELEASED), and nothing is
 * reserved.
 */
export const INVENTORY_SCHEMA: StoreSchema = {
  service: "inventory",
  create: stockTable("stock") + reservationsTable("reservations"),
  migrations: [
    `${stockTable("stock_v2")}
INSERT INTO stock_v2 (product_id, on_hand, reserved) SELECT product_id, quantity, 0 FROM stock;
DROP TABLE stock;
ALTER TABLE stock_v2 RENAME TO stock;
${reservationsTable("reservations_v2")}
INSERT INTO reservations_v2 (key, lines, status, reason)
  SELECT key, lines, CASE status WHEN 'TAKEN' THEN 'COMMITTED' WHEN 'RESTORED' THEN 'RELEASED' ELSE status END, reason
  FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_v2 RENAME TO reservations;`,
  ],
};

interface StockRow {
  product_id: string;
  on_hand: number;
  reserved: number;
}

/** A reservation as stored (the same columns on SQLite and PostgreSQL). */
export interface ReservationRow {
  key: string;
  lines: string;
  status: ReservationStatus;
  reason: string;
}

const toStock = (r: StockRow): Stock => ({ productId: r.product_id, onHand: r.on_hand, reserved: r.reserved, available: r.on_hand - r.reserved });
/** A stored reservation row as the domain's record: its lines are kept as JSON text. */
export const toReservation = (r: ReservationRow): Reservation => ({
  key: r.key,
  lines: JSON.parse(r.lines) as StockLine[],
  status: r.status,
  reason: r.reason,
});
/** The lines of a reservation as they are stored: JSON text of product ids and quantities. */
export const linesJson = (lines: readonly StockLine[]): string =>
  JSON.stringify(lines.map((l) => ({ productId: l.productId, quantity: l.quantity })));

/** {@link InventoryStore} over one better-sqlite3 connection; writes go through a group-commit batcher. */
export class SqliteInventoryStore extends SqliteServiceStore implements InventoryStore {
  private readonly statements;

  constructor(db: SqliteDatabase, batcher?: WriteBatcher) {
    super(db, INVENTORY_SCHEMA, batcher);
    const stockColumns = "product_id, on_hand, reserved";
    const columns = "key, lines, status, reason";
    this.statements = {
      findStock: db.prepare<[string], StockRow>(`SELECT ${stockColumns} FROM stock WHERE product_id = ?`),
      listStock: db.prepare<[], StockRow>(`SELECT ${stockColumns} FROM stock ORDER BY product_id`),
      insertStock: db.prepare<[string, number]>("INSERT INTO stock (product_id, on_hand) VALUES (?, ?)"),
      reserve: db.prepare<[number, string]>("UPDATE stock SET reserved = reserved + ? WHERE product_id = ?"),
      release: db.prepare<[number, string]>("UPDATE stock SET reserved = reserved - ? WHERE product_id = ?"),
      commit: db.prepare<[number, number, string]>("UPDATE stock SET on_hand = on_hand - ?, reserved = reserved - ? WHERE product_id = ?"),
      findReservation: db.prepare<[string], ReservationRow>(`SELECT ${columns} FROM reservations WHERE key = ?`),
      insertReservation: db.prepare<[string, string, string, string]>(`INSERT INTO reservations (${columns}) VALUES (?, ?, ?, ?)`),
      setStatus: db.prepare<[string, string]>("UPDATE reservations SET status = ? WHERE key = ?"),
      listFirst: db.prepare<[number], ReservationRow>(`SELECT ${columns} FROM reservations ORDER BY key LIMIT ?`),
      listAfter: db.prepare<[string, number], ReservationRow>(`SELECT ${columns} FROM reservations WHERE key > ? ORDER BY key LIMIT ?`),
    };
  }

  /** Puts `stock` on hand when there is none yet (first start). Returns whether it did. */
  seedIfEmpty(stock: readonly StockLine[]): boolean {
    return this.seedTable("stock", stock, (s) => this.statements.insertStock.run(s.productId, s.quantity));
  }

  findStock(productId: string): Stock | undefined {
    const row = this.statements.findStock.get(productId);
    return row && toStock(row);
  }

  async listStock(): Promise<Stock[]> {
    return this.statements.listStock.all().map(toStock);
  }

  reserve(productId: string, quantity: number): void {
    expectOneRow(this.statements.reserve.run(quantity, productId).changes, productId);
  }

  release(productId: string, quantity: number): void {
    expectOneRow(this.statements.release.run(quantity, productId).changes, productId);
  }

  commit(productId: string, quantity: number): void {
    expectOneRow(this.statements.commit.run(quantity, quantity, productId).changes, productId);
  }

  findReservation(key: string): Reservation | undefined {
    const row = this.statements.findReservation.get(key);
    return row && toReservation(row);
  }

  insertReservation(r: Reservation): void {
    this.statements.insertReservation.run(r.key, linesJson(r.lines), r.status, r.reason);
  }

  setReservationStatus(key: string, status: ReservationStatus): void {
    this.statements.setStatus.run(status, key);
  }

  async listReservations(after: string | undefined, limit: number): Promise<Reservation[]> {
    const rows = after === undefined ? this.statements.listFirst.all(limit) : this.statements.listAfter.all(after, limit);
    return rows.map(toReservation);
  }
}

/** A product that vanished under a reservation that names it is a bug: fail the write. */
function expectOneRow(changes: number, productId: string): void {
  if (changes !== 1) throw new Error(`no stock row for ${productId}`);
}
