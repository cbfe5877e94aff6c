import { PendingState } from "#platform/pending-state.js";
import { PaymentDeclinedError, PaymentNotFoundError, UnknownCustomerError } from "./errors.js";
import type { PaymentStore } from "./payment-store.js";

/**
 * Where one payment record stands (a semantic lock, so that nobody sees as spent what a
 * compensation may still give back): AUTHORIZED (the amount is held) → CAPTURED (charged) or
 * VOIDED (released); DECLINED (insufficient available funds, nothing moved); CANCELLED (the
 * void came first; a tombstone that refuses the late authorization).
 */
export type PaymentStatus = "AUTHORIZED" | "CAPTURED" | "VOIDED" | "DECLINED" | "CANCELLED";

/** An account as a new database is seeded with it: nothing held. */
export interface OpeningBalance {
  readonly customerId: string;
  readonly balanceCents: number;
}

/** One customer's money, in cents: the balance, what AUTHORIZED payments hold of it, and the rest. */
export interface Account extends OpeningBalance {
  readonly heldCents: number;
  /** balanceCents − heldCents: what may still be authorized. */
  readonly availableCents: number;
}

/** The record kept under one idempotency key. A tombstone has customerId "" and amount 0. */
export interface PaymentRecord {
  readonly key: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly status: PaymentStatus;
  /** Why it was declined, kept so that a repeat fails with the same message. */
  readonly reason: string;
}

/** An authorization request, already validated. */
export interface PaymentRequest {
  readonly key: string;
  readonly customerId: string;
  readonly amountCents: number;
}

/**
 * Customer accounts and the payments made against them. Every mutation runs inside
 * `store.write`, so a hold, a capture or a release and its record's status change are
 * atomic, and every outcome is durable before it is returned. The pending-state rules
 * (repeats, tombstones, what may be captured or voided) are the platform's.
 */
export class Payments {
  private readonly state: PendingState<PaymentRecord, PaymentStatus>;

  constructor(private readonly store: PaymentStore) {
    this.state = new PendingState({
      what: "payment",
      confirmVerb: "capture",
      compensateVerb: "void",
      statuses: { pending: "AUTHORIZED", confirmed: "CAPTURED", compensated: "VOIDED", refused: "DECLINED", tombstone: "CANCELLED" },
      records: {
        find: (key) => store.findPayment(key),
        insert: (p) => store.insertPayment(p),
        setStatus: (key, s) => store.setPaymentStatus(key, s),
      },
      tombstone: (key) => ({ key, customerId: "", amountCents: 0, status: "CANCELLED", reason: "" }),
    });
  }

  /**
   * Holds `amountCents` of the customer's available money, once per key. A repeat returns the
   * first record (or fails the same way again) and changes nothing.
   * @throws UnknownCustomerError (nothing recorded); PaymentDeclinedError (recorded
   * DECLINED); CancelledBeforeArrivalError; KeyReusedError.
   */
  async authorize(request: PaymentRequest): Promise<PaymentRecord> {
    const { key, customerId, amountCents } = request;
    const record = await this.store.write(() =>
      this.state.act(
        key,
        (p) => p.customerId === customerId && p.amountCents === amountCents,
        () => {
          const account = this.store.findAccount(customerId);
          if (!account) throw new UnknownCustomerError(customerId);
          if (account.availableCents < amountCents) {
            const reason = `insufficient funds: customer ${JSON.stringify(customerId)} cannot pay ${amountCents} cents`;
            return { key, customerId, amountCents, status: "DECLINED", reason };
          }
          this.store.hold(customerId, amountCents);
          return { key, customerId, amountCents, status: "AUTHORIZED", reason: "" };
        },
      ),
    );
    if (record.status === "DECLINED") throw new PaymentDeclinedError(record.reason);
    return record;
  }

  /**
   * Makes the hold under `key` a charge: AUTHORIZED → CAPTURED, the amount leaves the balance
   * and the hold. A repeat returns the CAPTURED record.
   * @throws NotConfirmableError with no payment, or one VOIDED, DECLINED or CANCELLED.
   */
  async capture(key: string): Promise<PaymentRecord> {
    return this.store.write(() => this.state.confirm(key, (p) => this.store.capture(p.customerId, p.amountCents)));
  }

  /**
   * Releases the hold under `key`: AUTHORIZED → VOIDED. With no record, it leaves a CANCELLED
   * tombstone so that the late authorization is refused. A repeat, or a void of a DECLINED
   * payment, returns the record unchanged.
   * @throws NotCompensableError when the payment is CAPTURED.
   */
  async void(key: string): Promise<PaymentRecord> {
    return this.store.write(() => this.state.compensate(key, (p) => this.store.release(p.customerId, p.amountCents)));
  }

  /** @throws UnknownCustomerError */
  async getAccount(customerId: string): Promise<Account> {
    const account = await this.store.read(() => this.store.findAccount(customerId));
    if (!account) throw new UnknownCustomerError(customerId);
    return account;
  }

  /** Every account, ordered by customer id. */
  listAccounts(): Promise<Account[]> {
    return this.store.listAccounts();
  }

  /** @throws PaymentNotFoundError */
  async getPayment(key: string): Promise<PaymentRecord> {
    const payment = await this.store.read(() => this.store.findPayment(key));
    if (!payment) throw new PaymentNotFoundError(key);
    return payment;
  }

  /** Up to `limit` payment records with a key after `after`, ordered by key. */
  listPayments(after: string | undefined, limit: number): Promise<PaymentRecord[]> {
    return this.store.listPayments(after, limit);
  }
}
