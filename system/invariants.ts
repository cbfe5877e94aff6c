import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService, PurchaseStatus } from "#gen/saga/purchases/v1/purchases_pb.js";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { OrchestratorService, SagaStatus, type Saga } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { ORDER_STEPS } from "../orchestrator/order-saga/order-saga.js";

/** Statuses of a saga the orchestrator is still driving on its own: what "the system is quiet" waits out. */
export const UNFINISHED_SAGA_STATUSES: readonly SagaStatus[] = [SagaStatus.RUNNING, SagaStatus.COMPENSATING, SagaStatus.CONFIRMING];

/** Money and stock, read from the services over gRPC. */
export interface Snapshot {
  /** Σ balance_cents: what the customers own, holds included. */
  readonly totalBalanceCents: number;
  /** Σ held_cents: what AUTHORIZED payments hold. */
  readonly totalHeldCents: number;
  /** Units on hand per product, reserved ones included. */
  readonly stock: ReadonlyMap<string, number>;
  /** Units reserved per product. */
  readonly reserved: ReadonlyMap<string, number>;
}

/** What the invariant check found. */
export interface InvariantReport {
  readonly sagas: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly violations: readonly string[];
}

type Urls = { orchestrator: string; payments: string; purchases: string; inventory: string };

async function pages<T>(fetchPage: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const page = await fetchPage(token);
    all.push(...page.items);
    token = page.next;
  } while (token !== "");
  return all;
}

/** Reads the total of all balances and holds, and the stock and reservations of every product. */
export async function takeSnapshot(urls: Pick<Urls, "payments" | "inventory">): Promise<Snapshot> {
  const payments = createServiceClient(PaymentsService, urls.payments);
  const inventory = createServiceClient(InventoryService, urls.inventory);
  try {
    const accounts = (await payments.listAccounts({})).accounts;
    const stock = (await inventory.listStock({})).stock;
    return {
      totalBalanceCents: accounts.reduce((sum, a) => sum + Number(a.balanceCents), 0),
      totalHeldCents: accounts.reduce((sum, a) => sum + Number(a.heldCents), 0),
      stock: new Map(stock.map((s) => [s.productId, Number(s.quantity)])),
      reserved: new Map(stock.map((s) => [s.productId, Number(s.reserved)])),
    };
  } finally {
    payments.close();
    inventory.close();
  }
}

/** Adds `quantity` to `product` in `totals`. */
function addTo(totals: Map<string, number>, product: string, quantity: number): void {
  totals.set(product, (totals.get(product) ?? 0) + quantity);
}

/** Quantities per product of some lines (a product may repeat). */
function totals(lines: readonly { productId: string; quantity: number }[]): Map<string, number> {
  const sum = new Map<string, number>();
  for (const l of lines) addTo(sum, l.productId, l.quantity);
  return sum;
}

/**
 * Checks the system's invariants against every service's state, given the snapshot taken
 * before any saga ran. Pending records (holds, pending purchases, reservations) are semantic
 * locks: they move nothing final until their saga confirms them.
 * - money: Σ balance + Σ CAPTURED amounts = initial Σ balance; per account, held = Σ of its
 *   AUTHORIZED amounts and 0 ≤ held ≤ balance;
 * - stock, per product: initial on_hand − Σ COMMITTED quantities = on_hand; reserved = Σ
 *   RESERVED quantities; 0 ≤ reserved ≤ on_hand;
 * - per saga: COMPLETED ⇔ one CAPTURED payment, one CONFIRMED purchase, one COMMITTED
 *   reservation of what it ordered; CONFIRMING ⇒ each of its three records is pending or final (none voided,
 *   cancelled or released); COMPENSATED ⇒ nothing captured, confirmed or committed, and no
 *   hold, pending purchase or reservation left; nothing stands for a saga that does not exist;
 * - liveness: RUNNING, COMPENSATING, CONFIRMING and NEEDS_ATTENTION sagas are reported.
 */
export async function checkInvariants(urls: Urls, initial: Snapshot): Promise<InvariantReport> {
  const orchestrator = createServiceClient(OrchestratorService, urls.orchestrator, { timeoutMs: 30_000, maxMessageBytes: 64 << 20 });
  const payments = createServiceClient(PaymentsService, urls.payments, { timeoutMs: 30_000 });
  const purchases = createServiceClient(PurchasesService, urls.purchases, { timeoutMs: 30_000 });
  const inventory = createServiceClient(InventoryService, urls.inventory, { timeoutMs: 30_000 });
  try {
    const sagas = await pages<Saga>(async (t) => {
      const r = await orchestrator.listSagas({ pageSize: 1000, pageToken: t });
      return { items: r.sagas, next: r.nextPageToken };
    });
    const paymentList = await pages(async (t) => {
      const r = await payments.listPayments({ pageSize: 1000, pageToken: t });
      return { items: r.payments, next: r.nextPageToken };
    });
    const purchaseList = await pages(async (t) => {
      const r = await purchases.listPurchases({ pageSize: 1000, pageToken: t });
      return { items: r.purchases, next: r.nextPageToken };
    });
    const reservationList = await pages(async (t) => {
      const r = await inventory.listReservations({ pageSize: 1000, pageToken: t });
      return { items: r.reservations, next: r.nextPageToken };
    });
    const accounts = (await payments.listAccounts({})).accounts;
    const stock = (await inventory.listStock({})).stock;
    const violations: string[] = [];

    // Money.
    const paymentStatus = new Map(paymentList.map((p) => [p.idempotencyKey, p.status]));
    const capturedCents = paymentList.filter((p) => p.status === PaymentStatus.CAPTURED).reduce((sum, p) => sum + Number(p.amountCents), 0);
    const totalBalance = accounts.reduce((sum, a) => sum + Number(a.balanceCents), 0);
    if (totalBalance + capturedCents !== initial.totalBalanceCents) {
      violations.push(`money: balances ${totalBalance} + captured ${capturedCents} != initial ${initial.totalBalanceCents}`);
    }
    const heldBy = new Map<string, number>();
    for (const p of paymentList) if (p.status === PaymentStatus.AUTHORIZED) addTo(heldBy, p.customerId, Number(p.amountCents));
    for (const a of accounts) {
      const held = Number(a.heldCents);
      const balance = Number(a.balanceCents);
      if (held !== (heldBy.get(a.customerId) ?? 0))
        violations.push(`money: ${a.customerId} holds ${held} != Σ authorized ${heldBy.get(a.customerId) ?? 0}`);
      if (held < 0 || held > balance) violations.push(`money: ${a.customerId} holds ${held} outside 0..balance ${balance}`);
    }

    // Stock.
    const reservationStatus = new Map(reservationList.map((r) => [r.idempotencyKey, r.status]));
    const reservationLines = new Map(reservationList.map((r) => [r.idempotencyKey, r.lines]));
    const committed = new Map<string, number>();
    const reservedBy = new Map<string, number>();
    for (const r of reservationList) {
      const into = r.status === ReservationStatus.COMMITTED ? committed : r.status === ReservationStatus.RESERVED ? reservedBy : undefined;
      if (into) for (const l of r.lines) addTo(into, l.productId, l.quantity);
    }
    for (const s of stock) {
      const onHand = Number(s.quantity);
      const reserved = Number(s.reserved);
      const expected = (initial.stock.get(s.productId) ?? 0) - (committed.get(s.productId) ?? 0);
      if (onHand !== expected) violations.push(`stock of ${s.productId}: ${onHand} != initial − committed = ${expected}`);
      if (reserved !== (reservedBy.get(s.productId) ?? 0)) {
        violations.push(`stock of ${s.productId}: reserved ${reserved} != Σ reserved ${reservedBy.get(s.productId) ?? 0}`);
      }
      if (reserved < 0 || reserved > onHand) violations.push(`stock of ${s.productId}: reserved ${reserved} outside 0..on_hand ${onHand}`);
    }

    // Per saga.
    const purchaseStatus = new Map(purchaseList.map((p) => [p.idempotencyKey, p.status]));
    const byStatus: Record<string, number> = {};
    const sagaIds = new Set<string>();
    for (const s of sagas) {
      sagaIds.add(s.sagaId);
      const status = SagaStatus[s.status] ?? "UNSPECIFIED";
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      const key = (step: string): string => `${s.sagaId}:${step}`;
      const payment = paymentStatus.get(key(ORDER_STEPS.charge));
      const purchase = purchaseStatus.get(key(ORDER_STEPS.purchase));
      const reservation = reservationStatus.get(key(ORDER_STEPS.stock));
      const final = [payment === PaymentStatus.CAPTURED, purchase === PurchaseStatus.CONFIRMED, reservation === ReservationStatus.COMMITTED];
      const pending = [payment === PaymentStatus.AUTHORIZED, purchase === PurchaseStatus.PENDING, reservation === ReservationStatus.RESERVED];
      const names = `payment/purchase/reservation = ${PaymentStatus[payment ?? 0]}/${PurchaseStatus[purchase ?? 0]}/${ReservationStatus[reservation ?? 0]}`;
      if (s.status === SagaStatus.COMPLETED) {
        if (!final.every(Boolean)) violations.push(`saga ${s.sagaId} COMPLETED but ${names}`);
        const ordered = totals(s.order?.items ?? []);
        const taken = totals(reservationLines.get(key(ORDER_STEPS.stock)) ?? []);
        if (JSON.stringify([...ordered].sort()) !== JSON.stringify([...taken].sort())) {
          violations.push(
            `saga ${s.sagaId} COMPLETED but its reservation ${JSON.stringify([...taken])} is not its order ${JSON.stringify([...ordered])}`,
          );
        }
      } else if (final.some(Boolean) && s.status !== SagaStatus.CONFIRMING) {
        violations.push(`saga ${s.sagaId} ${status} but something is final: ${names}`);
      }
      if (s.status === SagaStatus.CONFIRMING && !final.every((f, i) => f || pending[i])) {
        violations.push(`saga ${s.sagaId} CONFIRMING but not every record is pending or final: ${names}`);
      }
      if (s.status === SagaStatus.COMPENSATED && pending.some(Boolean)) {
        violations.push(`saga ${s.sagaId} COMPENSATED but a pending record is left: ${names}`);
      }
      if (s.status !== SagaStatus.COMPLETED && s.status !== SagaStatus.COMPENSATED) {
        violations.push(`saga ${s.sagaId} is not terminal: ${status}`);
      }
    }
    const orphan = (k: string): boolean => !sagaIds.has(k.slice(0, k.lastIndexOf(":")));
    const standing = [
      ...paymentList.filter((p) => p.status === PaymentStatus.CAPTURED || p.status === PaymentStatus.AUTHORIZED),
      ...purchaseList.filter((p) => p.status === PurchaseStatus.CONFIRMED || p.status === PurchaseStatus.PENDING),
      ...reservationList.filter((r) => r.status === ReservationStatus.COMMITTED || r.status === ReservationStatus.RESERVED),
    ];
    for (const { idempotencyKey: k } of standing) if (orphan(k)) violations.push(`${k} stands but its saga does not exist`);
    return { sagas: sagas.length, byStatus, violations };
  } finally {
    for (const c of [orchestrator, payments, purchases, inventory]) c.close();
  }
}
