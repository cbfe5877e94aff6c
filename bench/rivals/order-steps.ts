/**
 * The four steps, three compensations and three confirmations of the order saga as plain
 * async functions, written once and wrapped by each rival engine in its own durable-step
 * primitive (`ctx.run` in Restate, `DBOS.runStep` in DBOS). The requests are the ones
 * orchestrator/order-saga/order-saga.ts sends: same services, same messages, same idempotency
 * key `<sagaId>:<step>` on an action, its compensation and its confirmation. As there, the
 * confirmations run once every action has succeeded (take-stock is the pivot), are retried
 * until they succeed and are never compensated.
 */
import { ORDER_STEPS, type PricedOrder } from "../../orchestrator/order-saga/order-saga.js";
import type { OrderInput } from "../../orchestrator/order-saga/order-input.js";
import type { RivalOrderClients } from "./order-clients.js";

export { ORDER_STEPS, type PricedOrder };

/** Name of each compensation, as a durable step of its own. */
export const COMPENSATION_STEPS = {
  voidPayment: "void-payment",
  cancelPurchase: "cancel-purchase",
  releaseStock: "release-stock",
} as const;

/** Name of each confirmation, as a durable step of its own. */
export const CONFIRMATION_STEPS = {
  capturePayment: "capture-payment",
  confirmPurchase: "confirm-purchase",
  commitStock: "commit-stock",
} as const;

/** Deadline of every call, in ms: the orchestrator's `STEP_TIMEOUT_MS` default. */
export const STEP_TIMEOUT_MS = 2_000;

/** The idempotency key of `step` in saga `sagaId`, as the orchestrator builds it. */
export const stepKey = (sagaId: string, step: string): string => `${sagaId}:${step}`;

/** The saga's calls, bound to the four clients. Each throws the service's `ConnectError` on failure. */
export interface OrderSteps {
  priceOrder(order: OrderInput): Promise<PricedOrder>;
  /** AuthorizePayment: holds the amount. */
  chargePayment(sagaId: string, order: OrderInput, priced: PricedOrder): Promise<null>;
  voidPayment(sagaId: string): Promise<null>;
  capturePayment(sagaId: string): Promise<null>;
  /** ProcessPurchase: records it PENDING. */
  recordPurchase(sagaId: string, order: OrderInput, priced: PricedOrder): Promise<null>;
  cancelPurchase(sagaId: string): Promise<null>;
  confirmPurchase(sagaId: string): Promise<null>;
  /** ReserveStock: sets the units aside. */
  takeStock(sagaId: string, order: OrderInput): Promise<null>;
  releaseStock(sagaId: string): Promise<null>;
  commitStock(sagaId: string): Promise<null>;
}

/** Binds the saga's calls to `c`; results are plain JSON so every engine can journal them. */
export function orderSteps(c: RivalOrderClients): OrderSteps {
  const opts = { timeoutMs: STEP_TIMEOUT_MS };
  return {
    async priceOrder(order) {
      const res = await c.catalog.priceOrder({ lines: order.items.map((i) => ({ ...i })) }, opts);
      return {
        totalCents: Number(res.totalCents),
        lines: res.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: Number(l.unitPriceCents) })),
      };
    },
    async chargePayment(sagaId, order, priced) {
      await c.payments.authorizePayment(
        { idempotencyKey: stepKey(sagaId, ORDER_STEPS.charge), customerId: order.customerId, amountCents: BigInt(priced.totalCents) },
        opts,
      );
      return null;
    },
    async voidPayment(sagaId) {
      await c.payments.voidPayment({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.charge) }, opts);
      return null;
    },
    async capturePayment(sagaId) {
      await c.payments.capturePayment({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.charge) }, opts);
      return null;
    },
    async recordPurchase(sagaId, order, priced) {
      await c.purchases.processPurchase(
        {
          idempotencyKey: stepKey(sagaId, ORDER_STEPS.purchase),
          customerId: order.customerId,
          lines: priced.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: BigInt(l.unitPriceCents) })),
          totalCents: BigInt(priced.totalCents),
        },
        opts,
      );
      return null;
    },
    async cancelPurchase(sagaId) {
      await c.purchases.cancelPurchase({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.purchase) }, opts);
      return null;
    },
    async confirmPurchase(sagaId) {
      await c.purchases.confirmPurchase({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.purchase) }, opts);
      return null;
    },
    async takeStock(sagaId, order) {
      await c.inventory.reserveStock({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.stock), lines: order.items.map((i) => ({ ...i })) }, opts);
      return null;
    },
    async releaseStock(sagaId) {
      await c.inventory.releaseStock({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.stock) }, opts);
      return null;
    },
    async commitStock(sagaId) {
      await c.inventory.commitStock({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.stock) }, opts);
      return null;
    },
  };
}
