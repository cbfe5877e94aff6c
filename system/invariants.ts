import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService, PurchaseStatus } from "#gen/saga/purchases/v1/purchases_pb.js";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { OrchestratorService, SagaStatus, type Saga } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { ORDER_STEPS } from "../orchestrator/order-saga/order-saga.js";

/** Money and stock, read from the services over gRPC. */
export interface Snapshot {
  readonly totalBalanceCents: number;
  readonly stock: ReadonlyMap<string, number>;
}

/** What the DESIGN.md invariant check found. */
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

/** Reads the total of all balances and the stock of every product. */
export async function takeSnapshot(urls: Pick<Urls, "payments" | "inventory">): Promise<Snapshot> {
  const payments = createServiceClient(PaymentsService, urls.payments);
  const inventory = createServiceClient(InventoryService, urls.inventory);
  try {
    const accounts = (await payments.listAccounts({})).accounts;
    const stock = (await inventory.listStock({})).stock;
    return {
      totalBalanceCents: accounts.reduce((sum, a) => sum + Number(a.balanceCents), 0),
      stock: new Map(stock.map((s) => [s.productId, Number(s.quantity)])),
    };
  } finally {
    payments.close();
    inventory.close();
  }
}

/**
 * Checks DESIGN.md's invariants against every service's state, given the snapshot taken
 * before any saga ran:
 * - money: balances + charged-and-not-refunded = initial balances;
 * - stock: initial − quantities of COMPLETED sagas = current, per product;
 * - per saga: COMPLETED ⇔ one charge, one confirmed purchase, one stock take;
 *   COMPENSATED ⇒ none of them stands; nothing stands for a saga that does not exist;
 * - liveness: every saga is terminal (RUNNING / COMPENSATING / NEEDS_ATTENTION are reported).
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
    const now = await takeSnapshot(urls);
    const violations: string[] = [];

    const charged = new Map(paymentList.filter((p) => p.status === PaymentStatus.CHARGED).map((p) => [p.idempotencyKey, p]));
    const confirmed = new Set(purchaseList.filter((p) => p.status === PurchaseStatus.CONFIRMED).map((p) => p.idempotencyKey));
    const taken = new Set(reservationList.filter((r) => r.status === ReservationStatus.TAKEN).map((r) => r.idempotencyKey));

    const chargedCents = [...charged.values()].reduce((sum, p) => sum + Number(p.amountCents), 0);
    if (now.totalBalanceCents + chargedCents !== initial.totalBalanceCents) {
      violations.push(
        `money: balances ${now.totalBalanceCents} + charged ${chargedCents} != initial ${initial.totalBalanceCents}`,
      );
    }

    const expectedStock = new Map(initial.stock);
    const byStatus: Record<string, number> = {};
    const sagaIds = new Set<string>();
    for (const s of sagas) {
      sagaIds.add(s.sagaId);
      const status = SagaStatus[s.status] ?? "UNSPECIFIED";
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      const key = (step: string): string => `${s.sagaId}:${step}`;
      const held = [charged.has(key(ORDER_STEPS.charge)), confirmed.has(key(ORDER_STEPS.purchase)), taken.has(key(ORDER_STEPS.stock))];
      if (s.status === SagaStatus.COMPLETED) {
        if (!held.every(Boolean)) violations.push(`saga ${s.sagaId} COMPLETED but charge/purchase/stock = ${held.join("/")}`);
        for (const item of s.order?.items ?? []) {
          expectedStock.set(item.productId, (expectedStock.get(item.productId) ?? 0) - item.quantity);
        }
      } else if (s.status === SagaStatus.COMPENSATED) {
        if (held.some(Boolean)) violations.push(`saga ${s.sagaId} COMPENSATED but charge/purchase/stock = ${held.join("/")}`);
      } else {
        violations.push(`saga ${s.sagaId} is not terminal: ${status}`);
      }
    }
    for (const [product, expected] of expectedStock) {
      const actual = now.stock.get(product);
      if (actual !== expected) violations.push(`stock of ${product}: ${actual} != initial − completed = ${expected}`);
    }
    const orphan = (k: string): boolean => !sagaIds.has(k.slice(0, k.lastIndexOf(":")));
    for (const k of [...charged.keys(), ...confirmed, ...taken]) if (orphan(k)) violations.push(`${k} stands but its saga does not exist`);
    return { sagas: sagas.length, byStatus, violations };
  } finally {
    for (const c of [orchestrator, payments, purchases, inventory]) c.close();
  }
}
