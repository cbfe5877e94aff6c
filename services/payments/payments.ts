import { replayOf } from "#platform/idempotency.js";
import { PaymentDeclinedError, PaymentNotFoundError, UnknownCustomerError } from "./errors.js";
import type { PaymentStore } from "./payment-store.js";

/**
 * Where one payment record stands:
 * CHARGED (money taken) → REFUNDED (given back); DECLINED (insufficient funds, nothing
 * moved); CANCELLED (the cancellation came first; a tombstone that refuses the late charge).
 */
export type PaymentStatus = "CHARGED" | "REFUNDED" | "DECLINED" | "CANCELLED";

/** One customer's balance, in cents. */
export interface Account {
  readonly customerId: string;
  readonly balanceCents: number;
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

/** A charge request, already validated. */
export interface PaymentRequest {
  readonly key: string;
  readonly customerId: string;
  readonly amountCents: number;
}

/**
 * Customer accounts and the payments charged to them. Every mutation runs inside
 * `store.write`, so a charge (debit + record) or a refund (credit + status) is atomic, and
 * every outcome is durable before it is returned.
 */
export class Payments {
  constructor(private readonly store: PaymentStore) {}

  /**
   * Charges `amountCents` to the customer, once per key. A repeat returns the first record
   * (or fails the same way again) and changes nothing.
   * @throws UnknownCustomerError (nothing recorded); PaymentDeclinedError (recorded
   * DECLINED); CancelledBeforeArrivalError; KeyReusedError.
   */
  async process(request: PaymentRequest): Promise<PaymentRecord> {
    const { key, customerId, amountCents } = request;
    const record = await this.store.write(() => {
      const existing = replayOf(this.store.findPayment(key), {
        what: "payment",
        key,
        isTombstone: (p) => p.status === "CANCELLED",
        samePayload: (p) => p.customerId === customerId && p.amountCents === amountCents,
      });
      if (existing) return existing;
      const account = this.store.findAccount(customerId);
      if (!account) throw new UnknownCustomerError(customerId);
      if (account.balanceCents < amountCents) {
        const declined: PaymentRecord = {
          key,
          customerId,
          amountCents,
          status: "DECLINED",
          reason: `insufficient funds: customer ${JSON.stringify(customerId)} cannot pay ${amountCents} cents`,
        };
        this.store.insertPayment(declined);
        return declined;
      }
      this.store.addToBalance(customerId, -amountCents);
      const charged: PaymentRecord = { key, customerId, amountCents, status: "CHARGED", reason: "" };
      this.store.insertPayment(charged);
      return charged;
    });
    if (record.status === "DECLINED") throw new PaymentDeclinedError(record.reason);
    return record;
  }

  /**
   * Undoes the payment made with `key`: CHARGED → credited back, REFUNDED. With no record, it
   * leaves a CANCELLED tombstone so that the late charge is refused. Any other record is
   * returned unchanged, so a repeat is harmless.
   */
  async cancel(key: string): Promise<PaymentRecord> {
    return this.store.write(() => {
      const existing = this.store.findPayment(key);
      if (!existing) {
        const tombstone: PaymentRecord = { key, customerId: "", amountCents: 0, status: "CANCELLED", reason: "" };
        this.store.insertPayment(tombstone);
        return tombstone;
      }
      if (existing.status !== "CHARGED") return existing;
      this.store.addToBalance(existing.customerId, existing.amountCents);
      this.store.setPaymentStatus(key, "REFUNDED");
      return { ...existing, status: "REFUNDED" };
    });
  }

  /** @throws UnknownCustomerError */
  getAccount(customerId: string): Account {
    const account = this.store.findAccount(customerId);
    if (!account) throw new UnknownCustomerError(customerId);
    return account;
  }

  /** Every account, ordered by customer id. */
  listAccounts(): Account[] {
    return this.store.listAccounts();
  }

  /** @throws PaymentNotFoundError */
  getPayment(key: string): PaymentRecord {
    const payment = this.store.findPayment(key);
    if (!payment) throw new PaymentNotFoundError(key);
    return payment;
  }

  /** Up to `limit` payment records with a key after `after`, ordered by key. */
  listPayments(after: string | undefined, limit: number): PaymentRecord[] {
    return this.store.listPayments(after, limit);
  }
}
