import { replayOf } from "#platform/idempotency.js";
import { PurchaseNotFoundError, PurchaseRejectedError } from "./errors.js";
import type { PurchaseStore } from "./purchase-store.js";

/**
 * Where one purchase record stands: CONFIRMED → CANCELLED; REJECTED (broke the unit limit,
 * nothing but the refusal recorded); VOIDED (the cancellation came first; a tombstone that
 * refuses the late purchase).
 */
export type PurchaseStatus = "CONFIRMED" | "CANCELLED" | "REJECTED" | "VOIDED";

/** One product of a purchase, with the unit price the catalog quoted. */
export interface PurchaseLine {
  readonly productId: string;
  readonly quantity: number;
  readonly unitPriceCents: number;
}

/** A purchase request, already validated. */
export interface PurchaseRequest {
  readonly key: string;
  readonly customerId: string;
  readonly lines: readonly PurchaseLine[];
  readonly totalCents: number;
}

/** The record kept under one idempotency key. A tombstone has no customer, lines or total. */
export interface PurchaseRecord extends PurchaseRequest {
  readonly status: PurchaseStatus;
  /** Why it was rejected, kept so that a repeat fails with the same message. */
  readonly reason: string;
}

export interface PurchasesOptions {
  /** The documented rule: at most this many units in all per order (default 10). */
  readonly maxUnitsPerOrder?: number;
}

/** The default of {@link PurchasesOptions.maxUnitsPerOrder}. */
export const DEFAULT_MAX_UNITS_PER_ORDER = 10;

const sameLines = (a: readonly PurchaseLine[], b: readonly PurchaseLine[]): boolean =>
  a.length === b.length &&
  a.every((l, i) => {
    const o = b[i];
    return o !== undefined && l.productId === o.productId && l.quantity === o.quantity && l.unitPriceCents === o.unitPriceCents;
  });

/**
 * The purchases of the shop. Rule (documented in the proto): one order may hold at most
 * `maxUnitsPerOrder` units in all; a larger one is recorded REJECTED and refused.
 */
export class Purchases {
  private readonly maxUnitsPerOrder: number;

  constructor(
    private readonly store: PurchaseStore,
    options: PurchasesOptions = {},
  ) {
    this.maxUnitsPerOrder = options.maxUnitsPerOrder ?? DEFAULT_MAX_UNITS_PER_ORDER;
  }

  /**
   * Records a confirmed purchase, once per key. A repeat returns the first record (or fails
   * the same way again) and changes nothing.
   * @throws PurchaseRejectedError (recorded REJECTED); CancelledBeforeArrivalError;
   * KeyReusedError.
   */
  async process(request: PurchaseRequest): Promise<PurchaseRecord> {
    const { key, customerId, lines, totalCents } = request;
    const record = await this.store.write(() => {
      const existing = replayOf(this.store.findPurchase(key), {
        what: "purchase",
        key,
        isTombstone: (p) => p.status === "VOIDED",
        samePayload: (p) => p.customerId === customerId && p.totalCents === totalCents && sameLines(p.lines, lines),
      });
      if (existing) return existing;
      const units = lines.reduce((sum, l) => sum + l.quantity, 0);
      const rejected = units > this.maxUnitsPerOrder;
      const created: PurchaseRecord = {
        key,
        customerId,
        lines,
        totalCents,
        status: rejected ? "REJECTED" : "CONFIRMED",
        reason: rejected ? `an order may hold at most ${this.maxUnitsPerOrder} units in all; this one holds ${units}` : "",
      };
      this.store.insertPurchase(created);
      return created;
    });
    if (record.status === "REJECTED") throw new PurchaseRejectedError(record.reason);
    return record;
  }

  /**
   * Cancels the purchase made with `key`: CONFIRMED → CANCELLED. With no record, it leaves a
   * VOIDED tombstone so that the late purchase is refused. Any other record is returned
   * unchanged, so a repeat is harmless.
   */
  async cancel(key: string): Promise<PurchaseRecord> {
    return this.store.write(() => {
      const existing = this.store.findPurchase(key);
      if (!existing) {
        const tombstone: PurchaseRecord = { key, customerId: "", lines: [], totalCents: 0, status: "VOIDED", reason: "" };
        this.store.insertPurchase(tombstone);
        return tombstone;
      }
      if (existing.status !== "CONFIRMED") return existing;
      this.store.setPurchaseStatus(key, "CANCELLED");
      return { ...existing, status: "CANCELLED" };
    });
  }

  /** @throws PurchaseNotFoundError */
  getPurchase(key: string): PurchaseRecord {
    const purchase = this.store.findPurchase(key);
    if (!purchase) throw new PurchaseNotFoundError(key);
    return purchase;
  }

  /** Up to `limit` purchase records with a key after `after`, ordered by key. */
  listPurchases(after: string | undefined, limit: number): PurchaseRecord[] {
    return this.store.listPurchases(after, limit);
  }
}
