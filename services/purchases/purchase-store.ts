import type { SqliteDatabase } from "#platform/sqlite.js";
import { createWriteBatcher, type WriteBatcher } from "#platform/write-batcher.js";
import type { PurchaseLine, PurchaseRecord, PurchaseStatus } from "./purchases.js";

/**
 * What the purchases domain needs from storage. Reads answer from committed state, or from
 * the current batch when called inside `write`.
 */
export interface PurchaseStore {
  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T>;
  findPurchase(key: string): PurchaseRecord | undefined;
  insertPurchase(record: PurchaseRecord): void;
  setPurchaseStatus(key: string, status: PurchaseStatus): void;
  /** Up to `limit` records with a key after `after`, ordered by key. */
  listPurchases(after: string | undefined, limit: number): PurchaseRecord[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS purchases (
  key         TEXT PRIMARY KEY,
  customer_id TEXT NOT NULL,
  lines       TEXT NOT NULL,
  total_cents INTEGER NOT NULL CHECK (total_cents >= 0),
  status      TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED', 'REJECTED', 'VOIDED')),
  reason      TEXT NOT NULL DEFAULT ''
) STRICT;
`;

interface PurchaseRow {
  key: string;
  customer_id: string;
  lines: string;
  total_cents: number;
  status: PurchaseStatus;
  reason: string;
}

const toPurchase = (r: PurchaseRow): PurchaseRecord => ({
  key: r.key,
  customerId: r.customer_id,
  lines: JSON.parse(r.lines) as PurchaseLine[],
  totalCents: r.total_cents,
  status: r.status,
  reason: r.reason,
});
const linesJson = (lines: readonly PurchaseLine[]): string =>
  JSON.stringify(lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: l.unitPriceCents })));

/** {@link PurchaseStore} over one better-sqlite3 connection; writes go through a group-commit batcher. */
export class SqlitePurchaseStore implements PurchaseStore {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly batcher: WriteBatcher = createWriteBatcher(db),
  ) {
    db.exec(SCHEMA);
    const columns = "key, customer_id, lines, total_cents, status, reason";
    this.statements = {
      find: db.prepare<[string], PurchaseRow>(`SELECT ${columns} FROM purchases WHERE key = ?`),
      insert: db.prepare<[string, string, string, number, string, string]>(
        `INSERT INTO purchases (${columns}) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      setStatus: db.prepare<[string, string]>("UPDATE purchases SET status = ? WHERE key = ?"),
      listFirst: db.prepare<[number], PurchaseRow>(`SELECT ${columns} FROM purchases ORDER BY key LIMIT ?`),
      listAfter: db.prepare<[string, number], PurchaseRow>(`SELECT ${columns} FROM purchases WHERE key > ? ORDER BY key LIMIT ?`),
    };
  }

  write<T>(work: () => T): Promise<T> {
    return this.batcher.run(work);
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

  listPurchases(after: string | undefined, limit: number): PurchaseRecord[] {
    const rows = after === undefined ? this.statements.listFirst.all(limit) : this.statements.listAfter.all(after, limit);
    return rows.map(toPurchase);
  }

  /** Commits what is queued, then closes the database. */
  close(): void {
    this.batcher.close();
    this.db.close();
  }
}
