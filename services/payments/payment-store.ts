import type { SqliteDatabase } from "#platform/sqlite.js";
import { createWriteBatcher, type WriteBatcher } from "#platform/write-batcher.js";
import type { Account, PaymentRecord, PaymentStatus } from "./payments.js";

/**
 * What the payments domain needs from storage. Reads answer from committed state, or from
 * the current batch when called inside `write`.
 */
export interface PaymentStore {
  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T>;
  findAccount(customerId: string): Account | undefined;
  listAccounts(): Account[];
  /** Adds `deltaCents` (negative to debit) to a balance that exists. */
  addToBalance(customerId: string, deltaCents: number): void;
  findPayment(key: string): PaymentRecord | undefined;
  insertPayment(record: PaymentRecord): void;
  setPaymentStatus(key: string, status: PaymentStatus): void;
  /** Up to `limit` records with a key after `after`, ordered by key. */
  listPayments(after: string | undefined, limit: number): PaymentRecord[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS accounts (
  customer_id   TEXT PRIMARY KEY,
  balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0)
) STRICT;
CREATE TABLE IF NOT EXISTS payments (
  key          TEXT PRIMARY KEY,
  customer_id  TEXT NOT NULL,
  amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
  status       TEXT NOT NULL CHECK (status IN ('CHARGED', 'REFUNDED', 'DECLINED', 'CANCELLED')),
  reason       TEXT NOT NULL DEFAULT ''
) STRICT;
`;

interface PaymentRow {
  key: string;
  customer_id: string;
  amount_cents: number;
  status: PaymentStatus;
  reason: string;
}

interface AccountRow {
  customer_id: string;
  balance_cents: number;
}

const toAccount = (r: AccountRow): Account => ({ customerId: r.customer_id, balanceCents: r.balance_cents });
const toPayment = (r: PaymentRow): PaymentRecord => ({
  key: r.key,
  customerId: r.customer_id,
  amountCents: r.amount_cents,
  status: r.status,
  reason: r.reason,
});

/** {@link PaymentStore} over one better-sqlite3 connection; writes go through a group-commit batcher. */
export class SqlitePaymentStore implements PaymentStore {
  private readonly statements;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly batcher: WriteBatcher = createWriteBatcher(db),
  ) {
    db.exec(SCHEMA);
    this.statements = {
      findAccount: db.prepare<[string], AccountRow>("SELECT customer_id, balance_cents FROM accounts WHERE customer_id = ?"),
      listAccounts: db.prepare<[], AccountRow>("SELECT customer_id, balance_cents FROM accounts ORDER BY customer_id"),
      countAccounts: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM accounts"),
      insertAccount: db.prepare<[string, number]>("INSERT INTO accounts (customer_id, balance_cents) VALUES (?, ?)"),
      addToBalance: db.prepare<[number, string]>("UPDATE accounts SET balance_cents = balance_cents + ? WHERE customer_id = ?"),
      findPayment: db.prepare<[string], PaymentRow>("SELECT key, customer_id, amount_cents, status, reason FROM payments WHERE key = ?"),
      insertPayment: db.prepare<[string, string, number, string, string]>(
        "INSERT INTO payments (key, customer_id, amount_cents, status, reason) VALUES (?, ?, ?, ?, ?)",
      ),
      setStatus: db.prepare<[string, string]>("UPDATE payments SET status = ? WHERE key = ?"),
      listFirst: db.prepare<[number], PaymentRow>(
        "SELECT key, customer_id, amount_cents, status, reason FROM payments ORDER BY key LIMIT ?",
      ),
      listAfter: db.prepare<[string, number], PaymentRow>(
        "SELECT key, customer_id, amount_cents, status, reason FROM payments WHERE key > ? ORDER BY key LIMIT ?",
      ),
    };
  }

  /** Inserts `accounts` when there are none yet (first start). Returns whether it did. */
  seedIfEmpty(accounts: readonly Account[]): boolean {
    return this.db.transaction(() => {
      if ((this.statements.countAccounts.get()?.n ?? 0) > 0) return false;
      for (const a of accounts) this.statements.insertAccount.run(a.customerId, a.balanceCents);
      return true;
    })();
  }

  write<T>(work: () => T): Promise<T> {
    return this.batcher.run(work);
  }

  findAccount(customerId: string): Account | undefined {
    const row = this.statements.findAccount.get(customerId);
    return row && toAccount(row);
  }

  listAccounts(): Account[] {
    return this.statements.listAccounts.all().map(toAccount);
  }

  addToBalance(customerId: string, deltaCents: number): void {
    const { changes } = this.statements.addToBalance.run(deltaCents, customerId);
    if (changes !== 1) throw new Error(`no account ${customerId} to change`);
  }

  findPayment(key: string): PaymentRecord | undefined {
    const row = this.statements.findPayment.get(key);
    return row && toPayment(row);
  }

  insertPayment(p: PaymentRecord): void {
    this.statements.insertPayment.run(p.key, p.customerId, p.amountCents, p.status, p.reason);
  }

  setPaymentStatus(key: string, status: PaymentStatus): void {
    this.statements.setStatus.run(status, key);
  }

  listPayments(after: string | undefined, limit: number): PaymentRecord[] {
    const rows = after === undefined ? this.statements.listFirst.all(limit) : this.statements.listAfter.all(after, limit);
    return rows.map(toPayment);
  }

  /** Commits what is queued, then closes the database. */
  close(): void {
    this.batcher.close();
    this.db.close();
  }
}
