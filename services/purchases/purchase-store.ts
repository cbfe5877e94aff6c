import type { SqliteDatabase } from "#platform/sqlite.js";
import { SqliteServiceStore, type StoreSchema } from "#platform/service-store.js";
import type { WriteBatcher } from "#platform/write-batcher.js";
import type { PurchaseLine, PurchaseRecord, PurchaseStatus } from "./purchases.js";

/**
 * What the purchases domain needs from storage, on SQLite ({@link SqlitePurchaseStore}) or
 * PostgreSQL (`PostgresPurchaseStore`). The keyed accessors are synchronous and are called
 * inside `write` (one atomic, group-committed write) or `read` (keyed reads of committed state);
 * the list is a query of its own.
 */
export interface PurchaseStore {
  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T>;
  /** Runs synchronous keyed reads against committed state. */
  read<T>(work: () => T): Promise<T>;
  findPurchase(key: string): PurchaseRecord | undefined;
  insertPurchase(record: PurchaseRecord): void;
  setPurchaseStatus(key: string, status: PurchaseStatus): void;
  /** Up to `limit` records with a key after `after`, ordered by key. */
  listPurchases(after: string | undefined, limit: number): Promise<PurchaseRecord[]>;
}

const purchasesTable = (name: string): string => `
CREATE TABLE ${name} (
  key         TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  lines       TEXT NOT NULL,
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  status      TEXT NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'REJECTED', 'VOIDED')),
  reason      TEXT NOT NULL DEFAULT ''
) STRICT;`;

/**
 * Version 2 (pending states) adds PENDING. Version 1 confirmed at once, so its statuses keep
 * their meaning: CONFIRMED stands, CANCELLED was undone, REJECTED and VOIDED as before.
 */
export const PURCHASES_SCHEMA: StoreSchema = {
  service: "purchases",
  create: purchasesTable("purchases"),
  migrations: [
    `${purchasesTable("purchases_v2")}
INSERT INTO purchases_v2 (key, customer_id, lines, total_cents, status, reason)
  SELECT key, customer_id, lines, total_cents, status, reason FROM purchases;
DROP TABLE purchases;
ALTER TABLE purchases_v2 RENAME TO purchases;`,
  ],
};

/** A purchase as stored (the same columns on SQLite and PostgreSQL). */
export interface PurchaseRow {
  key: string;
  customer_id: string;
  lines: string;
  total_cents: number;
  status: PurchaseStatus;
  reason: string;
}

/** A stored purchase row as the domain's record: its lines are kept as JSON text. */
export const toPurchase = (r: PurchaseRow): PurchaseRecord => ({
  key: r.key,
  customerId: r.customer_id,
  lines: JSON.parse(r.lines) as PurchaseLine[],
  totalCents: r.total_cents,
  status: r.status,
  reason: r.reason,
});
/** The lines of a purchase as they are stored: JSON text. */
export const linesJson = (lines: readonly PurchaseLine[]): string =>
  JSON.stringify(lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: l.unitPriceCents })));

/** {@link PurchaseStore} over one better-sqlite3 connection; writes go through a group-commit batcher. */
export class SqlitePurchaseStore extends SqliteServiceStore implements PurchaseStore {
  private readonly statements;

  constructor(db: SqliteDatabase, batcher?: WriteBatcher) {
    super(db, PURCHASES_SCHEMA, batcher);
    const columns = "key, customer_id, lines, total_cents, status, reason";
    this.statements = {
      find: db.prepare<[string], PurchaseRow>(`SELECT ${columns} FROM purchases WHERE key = ?`),
      insert: db.prepare<[string, string, string, number, string, string]>(`INSERT INTO purchases (${columns}) VALUES (?, ?, ?, ?, ?, ?)`),
      setStatus: db.prepare<[string, string]>("UPDATE purchases SET status = ? WHERE key = ?"),
      listFirst: db.prepare<[number], PurchaseRow>(`SELECT ${columns} FROM purchases ORDER BY key LIMIT ?`),
      listAfter: db.prepare<[string, number], PurchaseRow>(`SELECT ${columns} FROM purchases WHERE key > ? ORDER BY key LIMIT ?`),
    };
  }

  findPurchase(key: string): PurchaseRecord | undefined {
    const row = this.statements.find.get(key);
    return row && toPurchase(row);
  }

  insertPurchase(p: PurchaseRecord): void {
    this.statements.insert.run(p.key, p.customerId, linesJson(p.lines), p.totalCents, p.status, p.reason);
  }

  setPurchaseStatus(key: string, status: PurchaseStatus): void {
    this.statements.setStatus.run(status, key);
  }

  async listPurchases(after: string | undefined, limit: number): Promise<PurchaseRecord[]> {
    const rows = after === undefined ? this.statements.listFirst.all(limit) : this.statements.listAfter.all(after, limit);
    return rows.map(toPurchase);
  }
}
