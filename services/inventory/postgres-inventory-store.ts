import type pg from "pg";
import { migratePostgres, type PostgresMigration } from "#platform/postgres-migrations.js";
import { PostgresServiceStore, seedPostgresTable, type KeyedTable, type PostgresServiceStoreOptions } from "#platform/postgres-service-store.js";
import { linesJson, toReservation, type InventoryStore, type ReservationRow } from "./inventory-store.js";
import type { Reservation, ReservationStatus, Stock, StockLine } from "./inventory.js";

/**
 * The inventory schema on PostgreSQL, version by version (never edit a released one). The
 * CHECKs are SQLite's: a reservation beyond what is on hand, a commit beyond what is reserved,
 * a negative count fail the write. Keys sort by bytes (COLLATE "C"), as on SQLite.
 */
export const INVENTORY_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "stock and reservations, with pending states",
    sql: `
CREATE TABLE stock (
  product_id text COLLATE "C" PRIMARY KEY,
  on_hand    bigint NOT NULL CHECK (on_hand >= 0),
  reserved   bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0),
  CHECK (reserved <= on_hand)
);
CREATE TABLE reservations (
  key    text COLLATE "C" PRIMARY KEY,
  lines  text NOT NULL,
  status text NOT NULL CHECK (status IN ('RESERVED', 'COMMITTED', 'RELEASED', 'REJECTED', 'VOIDED')),
  reason text NOT NULL DEFAULT ''
);`,
  },
];

interface StockRow {
  product_id: string;
  on_hand: number;
  reserved: number;
}

const STOCK: KeyedTable<StockRow> = {
  name: "stock",
  key: "product_id",
  lockRank: 1,
  columns: { product_id: "text", on_hand: "bigint", reserved: "bigint" },
};
const RESERVATIONS: KeyedTable<ReservationRow> = {
  name: "reservations",
  key: "key",
  lockRank: 0,
  columns: { key: "text", lines: "text", status: "text", reason: "text" },
};

const toStock = (r: StockRow): Stock => ({ productId: r.product_id, onHand: r.on_hand, reserved: r.reserved, available: r.on_hand - r.reserved });

/** {@link InventoryStore} on the inventory service's own PostgreSQL database; see `PostgresServiceStore` for how writes run. */
export class PostgresInventoryStore extends PostgresServiceStore implements InventoryStore {
  private constructor(pool: pg.Pool, options?: PostgresServiceStoreOptions) {
    super(pool, "inventory", options);
  }

  /**
   * Migrates the schema (refusing one newer than this build) and returns the store; closing it ends the pool.
   * @throws SchemaTooNewError
   */
  static async open(pool: pg.Pool, options?: PostgresServiceStoreOptions): Promise<PostgresInventoryStore> {
    await migratePostgres(pool, "inventory", "inventory_schema_version", INVENTORY_MIGRATIONS);
    return new PostgresInventoryStore(pool, options);
  }

  /** Puts `stock` on hand when there is none yet (first start), once even when replicas start together. */
  seedIfEmpty(stock: readonly StockLine[]): Promise<boolean> {
    return seedPostgresTable(
      this.pool,
      "stock",
      ["product_id", "on_hand"],
      stock.map((s) => [s.productId, s.quantity]),
    );
  }

  findStock(productId: string): Stock | undefined {
    const row = this.row(STOCK, productId);
    return row && toStock(row);
  }

  async listStock(): Promise<Stock[]> {
    const rows = await this.query<StockRow>({ name: "stock.list", text: "SELECT product_id, on_hand, reserved FROM stock ORDER BY product_id" });
    return rows.map(toStock);
  }

  reserve(productId: string, quantity: number): void {
    const s = this.stock(productId);
    this.put(STOCK, { ...s, reserved: s.reserved + quantity });
  }

  release(productId: string, quantity: number): void {
    const s = this.stock(productId);
    this.put(STOCK, { ...s, reserved: s.reserved - quantity });
  }

  commit(productId: string, quantity: number): void {
    const s = this.stock(productId);
    this.put(STOCK, { ...s, on_hand: s.on_hand - quantity, reserved: s.reserved - quantity });
  }

  findReservation(key: string): Reservation | undefined {
    const row = this.row(RESERVATIONS, key);
    return row && toReservation(row);
  }

  insertReservation(r: Reservation): void {
    this.put(RESERVATIONS, { key: r.key, lines: linesJson(r.lines), status: r.status, reason: r.reason });
  }

  setReservationStatus(key: string, status: ReservationStatus): void {
    const row = this.row(RESERVATIONS, key);
    if (!row) throw new Error(`no reservation ${key} to change`);
    this.put(RESERVATIONS, { ...row, status });
  }

  async listReservations(after: string | undefined, limit: number): Promise<Reservation[]> {
    const rows = await this.query<ReservationRow>({
      name: "reservations.list",
      text: "SELECT key, lines, status, reason FROM reservations WHERE $1::text IS NULL OR key > $1 ORDER BY key LIMIT $2",
      values: [after ?? null, limit],
    });
    return rows.map(toReservation);
  }

  /** A product that vanished under a reservation that names it is a bug: fail the write. */
  private stock(productId: string): StockRow {
    const row = this.row(STOCK, productId);
    if (!row) throw new Error(`no stock row for ${productId}`);
    return row;
  }
}
