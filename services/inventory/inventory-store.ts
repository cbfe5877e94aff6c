import type { SqliteDatabase } from "#platform/sqlite.js";
import { createWriteBatcher, type WriteBatcher } from "#platform/write-batcher.js";
import type { Reservation, ReservationStatus, StockLine } from "./inventory.js";

/**
 * What the inventory domain needs from storage. Reads answer from committed state, or from
 * the current batch when called inside `write`.
 */
export interface InventoryStore {
  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T>;
  findStock(productId: string): StockLine | undefined;
  listStock(): StockLine[];
  /** Adds `delta` (negative to take) to a product that exists. */
  addToStock(productId: string, delta: number): void;
  findReservation(key: string): Reservation | undefined;
  insertReservation(record: Reservation): void;
  setReservationStatus(key: string, status: ReservationStatus): void;
  /** Up to `limit` records with a key after `after`, ordered by key. */
  listReservations(after: string | undefined, limit: number): Reservation[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS stock (
  product_id TEXT PRIMARY KEY,
  quantity   INTEGER NOT NULL CHECK (quantity >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS reservations (
  key    TEXT PRIMARY KEY,
  lines  TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('TAKEN', 'RESTORED', 'REJECTED', 'VOIDED')),
  reason TEXT NOT NULL DEFAULT ''
) STRICT;
`;

interface StockRow {
  product_id: string;
  quantity: number;
}

interface ReservationRow {
  key: string;
  lines: string;
  status: ReservationStatus;
  reason: string;
}

const toStock = (r: StockRow): StockLine => ({ productId: r.product_id, quantity: r.quantity });
const toReservation = (r: ReservationRow): Reservation => ({
  key: r.key,
  lines: JSON.parse(r.lines) as StockLine[],
  status: r.status,
  reason: r.reason,
});
const linesJson = (lines: readonly StockLine[]): string =>
  JSON.stringify(lines.map((l) => ({ productId: l.productId, quantity: l.quantity })));

/** {@link InventoryStore} over one better-sqlite3 connection; writes go through a group-commit batcher. */
export class SqliteInventoryStore implements InventoryStore {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly batcher: WriteBatcher = createWriteBatcher(db),
  ) {
    db.exec(SCHEMA);
    const columns = "key, lines, status, reason";
    this.statements = {
      findStock: db.prepare<[string], StockRow>("SELECT product_id, quantity FROM stock WHERE product_id = ?"),
      listStock: db.prepare<[], StockRow>("SELECT product_id, quantity FROM stock ORDER BY product_id"),
      countStock: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM stock"),
      insertStock: db.prepare<[string, number]>("INSERT INTO stock (product_id, quantity) VALUES (?, ?)"),
      addToStock: db.prepare<[number, string]>("UPDATE stock SET quantity = quantity + ? WHERE product_id = ?"),
      findReservation: db.prepare<[string], ReservationRow>(`SELECT ${columns} FROM reservations WHERE key = ?`),
      insertReservation: db.prepare<[string, string, string, string]>(
        `INSERT INTO reservations (${columns}) VALUES (?, ?, ?, ?)`,
      ),
      setStatus: db.prepare<[string, string]>("UPDATE reservations SET status = ? WHERE key = ?"),
      listFirst: db.prepare<[number], ReservationRow>(`SELECT ${columns} FROM reservations ORDER BY key LIMIT ?`),
      listAfter: db.prepare<[string, number], ReservationRow>(
        `SELECT ${columns} FROM reservations WHERE key > ? ORDER BY key LIMIT ?`,
      ),
    };
  }

  /** Inserts `stock` when there is none yet (first start). Returns whether it did. */
  seedIfEmpty(stock: readonly StockLine[]): boolean {
    return this.db.transaction(() => {
      if ((this.statements.countStock.get()?.n ?? 0) > 0) return false;
      for (const s of stock) this.statements.insertStock.run(s.productId, s.quantity);
      return true;
    })();
  }

  write<T>(work: () => T): Promise<T> {
    return this.batcher.run(work);
  }

  findStock(productId: string): StockLine | undefined {
    const row = this.statements.findStock.get(productId);
    return row && toStock(row);
  }

  listStock(): StockLine[] {
    return this.statements.listStock.all().map(toStock);
  }

  addToStock(productId: string, delta: number): void {
    const { changes } = this.statements.addToStock.run(delta, productId);
    if (changes !== 1) throw new Error(`no stock row for ${productId}`);
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

  listReservations(after: string | undefined, limit: number): Reservation[] {
    const rows = after === undefined ? this.statements.listFirst.all(limit) : this.statements.listAfter.all(after, limit);
    return rows.map(toReservation);
  }

  /** Commits what is queued, then closes the database. */
  close(): void {
    this.batcher.close();
    this.db.close();
  }
}
