import type pg from "pg";
import { migratePostgres, type PostgresMigration } from "#platform/postgres-migrations.js";
import { PostgresServiceStore, type KeyedTable, type PostgresServiceStoreOptions } from "#platform/postgres-service-store.js";
import { linesJson, toPurchase, type PurchaseRow, type PurchaseStore } from "./purchase-store.js";
import type { PurchaseRecord, PurchaseStatus } from "./purchases.js";

/**
 * The purchases schema on PostgreSQL, version by version (never edit a released one), with
 * SQLite's CHECKs. Keys sort by bytes (COLLATE "C"), as on SQLite.
 */
export const PURCHASES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "purchases, with pending states",
    sql: `
CREATE TABLE purchases (
  key         text COLLATE "C" PRIMARY KEY,
  customer_id text NOT NULL,
  lines       text NOT NULL,
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  status      text NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'REJECTED', 'VOIDED')),
  reason      text NOT NULL DEFAULT ''
);`,
  },
];

const PURCHASES: KeyedTable<PurchaseRow> = {
  name: "purchases",
  key: "key",
  lockRank: 0,
  columns: { key: "text", customer_id: "text", lines: "text", total_cents: "bigint", status: "text", reason: "text" },
};

/** {@link PurchaseStore} on the purchases service's own PostgreSQL database; see `PostgresServiceStore` for how writes run. */
export class PostgresPurchaseStore extends PostgresServiceStore implements PurchaseStore {
  private constructor(pool: pg.Pool, options?: PostgresServiceStoreOptions) {
    super(pool, "purchases", options);
  }

  /**
   * Migrates the schema (refusing one newer than this build) and returns the store; closing it ends the pool.
   * @throws SchemaTooNewError
   */
  static async open(pool: pg.Pool, options?: PostgresServiceStoreOptions): Promise<PostgresPurchaseStore> {
    await migratePostgres(pool, "purchases", "purchases_schema_version", PURCHASES_MIGRATIONS);
    return new PostgresPurchaseStore(pool, options);
  }

  findPurchase(key: string): PurchaseRecord | undefined {
    const row = this.row(PURCHASES, key);
    return row && toPurchase(row);
  }

  insertPurchase(p: PurchaseRecord): void {
    this.put(PURCHASES, {
      key: p.key,
      customer_id: p.customerId,
      lines: linesJson(p.lines),
      total_cents: p.totalCents,
      status: p.status,
      reason: p.reason,
    });
  }

  setPurchaseStatus(key: string, status: PurchaseStatus): void {
    const row = this.row(PURCHASES, key);
    if (!row) throw new Error(`no purchase ${key} to change`);
    this.put(PURCHASES, { ...row, status });
  }

  async listPurchases(after: string | undefined, limit: number): Promise<PurchaseRecord[]> {
    const rows = await this.query<PurchaseRow>({
      name: "purchases.list",
      text: "SELECT key, customer_id, lines, total_cents, status, reason FROM purchases WHERE $1::text IS NULL OR key > $1 ORDER BY key LIMIT $2",
      values: [after ?? null, limit],
    });
    return rows.map(toPurchase);
  }
}
