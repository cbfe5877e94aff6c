import type pg from "pg";
import { migratePostgres, type PostgresMigration } from "#platform/postgres-migrations.js";
import { PostgresServiceStore, seedPostgresTable, type KeyedTable, type PostgresServiceStoreOptions } from "#platform/postgres-service-store.js";
import type { PaymentStore } from "./payment-store.js";
import type { Account, OpeningBalance, PaymentRecord, PaymentStatus } from "./payments.js";

/**
 * The payments schema on PostgreSQL, version by version (never edit a released one). The
 * CHECKs are SQLite's: a hold beyond the balance, a capture beyond the hold, a negative amount
 * fail the write. Keys sort by bytes (COLLATE "C"), as on SQLite, so pages are the same.
 */
export const PAYMENTS_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "accounts and payments, with pending states",
    sql: `
CREATE TABLE accounts (
  customer_id   text COLLATE "C" PRIMARY KEY,
  balance_cents bigint NOT NULL CHECK (balance_cents >= 0),
  held_cents    bigint NOT NULL DEFAULT 0 CHECK (held_cents >= 0),
  CHECK (held_cents <= balance_cents)
);
CREATE TABLE payments (
  key          text COLLATE "C" PRIMARY KEY,
  customer_id  text NOT NULL,
  amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
  status       text NOT NULL CHECK (status IN ('AUTHORIZED', 'CAPTURED', 'VOIDED', 'DECLINED', 'CANCELLED')),
  reason       text NOT NULL DEFAULT ''
);`,
  },
];

interface AccountRow {
  customer_id: string;
  balance_cents: number;
  held_cents: number;
}

interface PaymentRow {
  key: string;
  customer_id: string;
  amount_cents: number;
  status: PaymentStatus;
  reason: string;
}

const ACCOUNTS: KeyedTable<AccountRow> = {
  name: "accounts",
  key: "customer_id",
  lockRank: 1,
  columns: { customer_id: "text", balance_cents: "bigint", held_cents: "bigint" },
};
const PAYMENTS: KeyedTable<PaymentRow> = {
  name: "payments",
  key: "key",
  lockRank: 0,
  columns: { key: "text", customer_id: "text", amount_cents: "bigint", status: "text", reason: "text" },
};

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

/** {@link PaymentStore} on the payments service's own PostgreSQL database; see `PostgresServiceStore` for how writes run. */
export class PostgresPaymentStore extends PostgresServiceStore implements PaymentStore {
  private constructor(pool: pg.Pool, options?: PostgresServiceStoreOptions) {
    super(pool, "payments", options);
  }

  /**
   * Migrates the schema (refusing one newer than this build) and returns the store; closing it ends the pool.
   * @throws SchemaTooNewError
   */
  static async open(pool: pg.Pool, options?: PostgresServiceStoreOptions): Promise<PostgresPaymentStore> {
    await migratePostgres(pool, "payments", "payments_schema_version", PAYMENTS_MIGRATIONS);
    return new PostgresPaymentStore(pool, options);
  }

  /** Inserts `accounts` when there are none yet (first start), once even when replicas start together. */
  seedIfEmpty(accounts: readonly OpeningBalance[]): Promise<boolean> {
    return seedPostgresTable(
      this.pool,
      "accounts",
      ["customer_id", "balance_cents"],
      accounts.map((a) => [a.customerId, a.balanceCents]),
    );
  }

  findAccount(customerId: string): Account | undefined {
    const row = this.row(ACCOUNTS, customerId);
    return row && toAccount(row);
  }

  async listAccounts(): Promise<Account[]> {
    const rows = await this.query<AccountRow>({
      name: "accounts.list",
      text: "SELECT customer_id, balance_cents, held_cents FROM accounts ORDER BY customer_id",
    });
    return rows.map(toAccount);
  }

  hold(customerId: string, cents: number): void {
    const a = this.account(customerId);
    this.put(ACCOUNTS, { ...a, held_cents: a.held_cents + cents });
  }

  release(customerId: string, cents: number): void {
    const a = this.account(customerId);
    this.put(ACCOUNTS, { ...a, held_cents: a.held_cents - cents });
  }

  capture(customerId: string, cents: number): void {
    const a = this.account(customerId);
    this.put(ACCOUNTS, { ...a, balance_cents: a.balance_cents - cents, held_cents: a.held_cents - cents });
  }

  findPayment(key: string): PaymentRecord | undefined {
    const row = this.row(PAYMENTS, key);
    return row && toPayment(row);
  }

  insertPayment(p: PaymentRecord): void {
    this.put(PAYMENTS, { key: p.key, customer_id: p.customerId, amount_cents: p.amountCents, status: p.status, reason: p.reason });
  }

  setPaymentStatus(key: string, status: PaymentStatus): void {
    const row = this.row(PAYMENTS, key);
    if (!row) throw new Error(`no payment ${key} to change`);
    this.put(PAYMENTS, { ...row, status });
  }

  async listPayments(after: string | undefined, limit: number): Promise<PaymentRecord[]> {
    const rows = await this.query<PaymentRow>({
      name: "payments.list",
      text: "SELECT key, customer_id, amount_cents, status, reason FROM payments WHERE $1::text IS NULL OR key > $1 ORDER BY key LIMIT $2",
      values: [after ?? null, limit],
    });
    return rows.map(toPayment);
  }

  /** An account that vanished under a record that names it is a bug: fail the write. */
  private account(customerId: string): AccountRow {
    const row = this.row(ACCOUNTS, customerId);
    if (!row) throw new Error(`no account ${customerId} to change`);
    return row;
  }
}
