import { PendingState } from "#platform/pending-state.js";
import { PurchaseNotFoundError, PurchaseRejectedError } from "./errors.js";
import type { PurchaseStore } from "./purchase-store.js";

/**
 * Where one purchase record stands (a semantic lock, so that nobody takes for final a purchase
 * a compensation may still cancel): PENDING → CONFIRMED or CANCELLED; REJECTED (broke the unit
 * limit, nothing but the refusal recorded); VOIDED (the cancellation came first; a tombstone
 * that refuses the late purchase).
 */
export type PurchaseStatus = "PENDING" | "CONFIRMED" | "CANCELLED" | "REJECTED" | "VOIDED";

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
 * `maxUnitsPerOrder` units in all; a larger one is recorded REJECTED and refused. The
 * pending-state rules (repeats, tombstones, what may be confirmed or cancelled) are the
 * platform's; a purchase moves nothing else, so confirming and cancelling only change its status.
 */
export class Purchases {
  private readonly maxUnitsPerOrder: number;
  private readonly state: PendingState<PurchaseRecord, PurchaseStatus>;

  constructor(
    private readonly store: PurchaseStore,
    options: PurchasesOptions = {},
  ) {
    this.maxUnitsPerOrder = options.maxUnitsPerOrder ?? DEFAULT_MAX_UNITS_PER_ORDER;
    this.state = new PendingState({
      what: "purchase",
      confirmVerb: "confirm",
      compensateVerb: "cancel",
      statuses: { pending: "PENDING", confirmed: "CONFIRMED", compensated: "CANCELLED", refused: "REJECTED", tombstone: "VOIDED" },
      records: {
        find: (key) => store.findPurchase(key),
        insert: (p) => store.insertPurchase(p),
        setStatus: (key, s) => store.setPurchaseStatus(key, s),
      },
      tombstone: (key) => ({ key, customerId: "", lines: [], totalCents: 0, status: "VOIDED", reason: "" }),
    });
  }

  /**
   * Records a PENDING purchase, once per key. A repeat returns the first record (or fails the
   * same way again) and changes nothing.
   * @throws PurchaseRejectedError (recorded REJECTED); CancelledBeforeArrivalError;
   * KeyReusedError.
   */
  async process(request: PurchaseRequest): Promise<PurchaseRecord> {
    const { key, customerId, lines, totalCents } = request;
    const record = await this.store.write(() =>
      this.state.act(
        key,
        (p) => p.customerId === customerId && p.totalCents === totalCents && sameLines(p.lines, lines),
        () => {
          const units = lines.reduce((sum, l) => sum + l.quantity, 0);
          if (units > this.maxUnitsPerOrder) {
            const reason = `an order may hold at most ${this.maxUnitsPerOrder} units in all; this one holds ${units}`;
            return { key, customerId, lines, totalCents, status: "REJECTED", reason };
          }
          return { key, customerId, lines, totalCents, status: "PENDING", reason: "" };
        },
      ),
    );
    if (record.status === "REJECTED") throw new PurchaseRejectedError(record.reason);
    return record;
  }

  /**
   * Makes the purchase under `key` final: PENDING → CONFIRMED. A repeat returns the CONFIRMED record.
   * @throws NotConfirmableError with no purchase, or one CANCELLED, REJECTED or VOIDED.
   */
  async confirm(key: string): Promise<PurchaseRecord> {
    return this.store.write(() => this.state.confirm(key, () => undefined));
  }

  /**
   * Cancels the purchase under `key`: PENDING → CANCELLED. With no record, it leaves a VOIDED
   * tombstone so that the late purchase is refused. A repeat, or a cancellation of a REJECTED
   * purchase, returns the record unchanged.
   * @throws NotCompensableError when the purchase is CONFIRMED.
   */
  async cancel(key: string): Promise<PurchaseRecord> {
    return this.store.write(() => this.state.compensate(key, () => undefined));
  }

  /** @throws PurchaseNotFoundError */
  async getPurchase(key: string): Promise<PurchaseRecord> {
    const purchase = await this.store.read(() => this.store.findPurchase(key));
    if (!purchase) throw new PurchaseNotFoundError(key);
    return purchase;
  }

  /** Up to `limit` purchase records with a key after `after`, ordered by key. */
  listPurchases(after: string | undefined, limit: number): Promise<PurchaseRecord[]> {
    return this.store.listPurchases(after, limit);
  }
}
