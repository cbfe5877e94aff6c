import type { SqliteDatabase } from "#platform/sqlite.js";
import { SqliteServiceStore, type StoreSchema } from "#platform/service-store.js";
import type { WriteBatcher } from "#platform/write-batcher.js";
import type { Account, OpeningBalance, PaymentRecord, PaymentStatus } from "./payments.js";

/**
 * What the payments domain needs from storage, on SQLite ({@link SqlitePaymentStore}) or
 * PostgreSQL (`PostgresPaymentStore`). The keyed accessors (find, hold, insert…) are synchronous
 * and are called inside `write` (reads and changes of one atomic, group-committed write) or
 * `read` (keyed reads of committed state); the lists are queries of their own.
 */
export interface PaymentStore {
  /** Runs synchronous store work atomically in the group-commit batch; resolves once durable. */
  write<T>(work: () => T): Promise<T>;
  /** Runs synchronous keyed reads against committed state. */
  read<T>(work: () => T): Promise<T>;
  findAccount(customerId: string): Account | undefined;
  /** Every account, ordered by customer id. */
  listAccounts(): Promise<Account[]>;
  /** Holds `cents` more of an account's balance. */
  hold(customerId: string, cents: number): void;
  /** Releases `cents` of an account's hold. */
  release(customerId: string, cents: number): void;
  /** Takes `cents` of an account's hold out of its balance. */
  capture(customerId: string, cents: number): void;
  findPayment(key: string): PaymentRecord | undefined;
  insertPayment(record: PaymentRecord): void;
  setPaymentStatus(key: string, status: PaymentStatus): void;
  /** Up to `limit` records with a key after `after`, ordered by key. */
  listPayments(after: string | undefined, limit: number): Promise<PaymentRecord[]>;
}

// The CHECKs make an overdraft impossible even under a bug: a hold beyond the balance, a
// capture beyond the hold, or a negative amount fails the write.
const accountsTable = (name: string): string => `
CREATE TABLE ${name} (
  customer_id   TEXT PRIMARY KEY,
  balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0),
  held_cents    INTEGER NOT NULL DEFAULT 0 CHECK (held_cents >= 0),
  CHECK (held_cents <= balance_cents)
) STRICT;`;
const paymentsTable = (name: string): string => `
CREATE TABLE ${name} (
  key          TEXT PRIMARY KEY,
  customer_id  TEXT NOT NULL,
  amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
  status       TEXT NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED', 'VOIDED', 'DECLINED', 'CANCELLED')),
  reason       TEXT NOT NULL DEFAULT ''
) STRICT;`;

/**
 * Version 2 (pending states). Version 1 charged at once: CHARGED money is gone from the
 * balance (now CAPTURED), REFUNDED was given back (now VOIDED), and nothing is held.
 */
export const PAYMENTS_SCHEMA: StoreSchema = {
  service: "payments",
  create: accountsTable("accounts") + paymentsTable("payments"),
  migrations: [
    `${accountsTable("accounts_v2")}
INSERT INTO accounts_v2 (customer_id, balance_cents, held_cents) SELECT customer_id, balance_cents, 0 FROM accounts;
DROP TABLE accounts;
ALTER TABLE accounts_v2 RENAME TO accounts;
${paymentsTable("payments_v2")}
INSERT INTO payments_v2 (key, customer_id, amount_cents, status, reason)
  SELECT key, customer_id, amount_cents,
         CASE status WHEN 'CHARGED' THEN 'CAPTURED' WHEN 'REFUNDED' THEN 'VOIDED' ELSE status END, reason
  FROM payments;
DROP TABLE payments;
ALTER TABLE payments_v2 RENAME TO payments;`,
  ],
};

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
  held_cents: number;
}

const toAccount = (r: AccountRow): Account => ({
  customerId: r.customer_id,
  balanceCents: r.balance_cents,
  heldCents: r.held_cents,
  availableCents: r.balance_cents - r.held_cents,
});
const toPayment = (r: PaymentRow): PaymentRecord => ({
  key: r.key,
  customerId: r.customer_id,
  amountCents: r.amount_cents,
  status: r.status,
  reason: r.reason,
});

/** {@link PaymentStore} over one better-sqlite3 connection; writes go through a group-commit batcher. */
export class SqlitePaymentStore extends SqliteServiceStore implements PaymentStore {
  private readonly statements;

  constructor(db: SqliteDatabase, batcher?: WriteBatcher) {
    super(db, PAYMENTS_SCHEMA, batcher);
    const accountColumns = "customer_id, balance_cents, held_cents";
    const paymentColumns = "key, customer_id, amount_cents, status, reason";
    this.statements = {
      findAccount: db.prepare<[string], AccountRow>(`SELECT ${accountColumns} FROM accounts WHERE customer_id = ?`),
      listAccounts: db.prepare<[], AccountRow>(`SELECT ${accountColumns} FROM accounts ORDER BY customer_id`),
      insertAccount: db.prepare<[string, number]>("INSERT INTO accounts (customer_id, balance_cents) VALUES (?, ?)"),
      hold: db.prepare<[number, string]>("UPDATE accounts SET held_cents = held_cents + ? WHERE customer_id = ?"),
      release: db.prepare<[number, string]>("UPDATE accounts SET held_cents = held_cents - ? WHERE customer_id = ?"),
      capture: db.prepare<[number, number, string]>(
        "UPDATE accounts SET balance_cents = balance_cents - ?, held_cents = held_cents - ? WHERE customer_id = ?",
      ),
      findPayment: db.prepare<[string], PaymentRow>(`SELECT ${paymentColumns} FROM payments WHERE key = ?`),
      insertPayment: db.prepare<[string, string, number, string, string]>(`INSERT INTO payments (${paymentColumns}) VALUES (?, ?, ?, ?, ?)`),
      setStatus: db.prepare<[string, string]>("UPDATE payments SET status = ? WHERE key = ?"),
      listFirst: db.prepare<[number], PaymentRow>(`SELECT ${paymentColumns} FROM payments ORDER BY key LIMIT ?`),
      listAfter: db.prepare<[string, number], PaymentRow>(`SELECT ${paymentColumns} FROM payments WHERE key > ? ORDER BY key LIMIT ?`),
    };
  }

  /** Inserts `accounts` when there are none yet (first start). Returns whether it did. */
  seedIfEmpty(accounts: readonly OpeningBalance[]): boolean {
    return this.seedTable("accounts", accounts, (a) => this.statements.insertAccount.run(a.customerId, a.balanceCents));
  }

  findAccount(customerId: string): Account | undefined {
    const row = this.statements.findAccount.get(customerId);
    return row && toAccount(row);
  }

  async listAccounts(): Promise<Account[]> {
    return this.statements.listAccounts.all().map(toAccount);
  }

  hold(customerId: string, cents: number): void {
    expectOneRow(this.statements.hold.run(cents, customerId).changes, customerId);
  }

  release(customerId: string, cents: number): void {
    expectOneRow(this.statements.release.run(cents, customerId).changes, customerId);
  }

  capture(customerId: string, cents: number): void {
    expectOneRow(this.statements.capture.run(cents, cents, customerId).changes, customerId);
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

  async listPayments(after: string | undefined, limit: number): Promise<PaymentRecord[]> {
    const rows = after === undefined ? this.statements.listFirst.all(limit) : this.statements.listAfter.all(after, limit);
    return rows.map(toPayment);
  }
}

/** An account that vanished under a record that names it is a bug: fail the write. */
function expectOneRow(changes: number, customerId: string): void {
  if (changes !== 1) throw new Error(`no account ${customerId} to change`);
}
