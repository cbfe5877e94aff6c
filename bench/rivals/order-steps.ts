/**
 * The four steps and three compensations of the order saga as plain async functions, written
 * once and wrapped by each rival engine in its own durable-step primitive (`ctx.run` in
 * Restate, `DBOS.runStep` in DBOS). The requests are the ones orchestrator/order-saga/order-saga.ts
 * sends: same services, same messages, same idempotency key `<sagaId>:<step>` on an action
 * and on its compensation.
 */
import { ORDER_STEPS, type PricedOrder } from "../../orchestrator/order-saga/order-saga.js";
import type { OrderInput } from "../../orchestrator/order-saga/order-input.js";
import type { RivalOrderClients } from "./order-clients.js";

export { ORDER_STEPS, type PricedOrder };

/** Name of each compensation, as a durable step of its own. */
export const COMPENSATION_STEPS = {
  refund: "refund-payment",
  cancelPurchase: "cancel-purchase",
  restoreStock: "restore-stock",
} as const;

/** Deadline of every call, in ms: the orchestrator's `STEP_TIMEOUT_MS` default. */
export const STEP_TIMEOUT_MS = 2_000;

/** The idempotency key of `step` in saga `sagaId`, as the orchestrator builds it. */
export const stepKey = (sagaId: string, step: string): string => `${sagaId}:${step}`;

/** The saga's calls, bound to the four clients. Each throws the service's `ConnectError` on failure. */
export interface OrderSteps {
  priceOrder(order: OrderInput): Promise<PricedOrder>;
  chargePayment(sagaId: string, order: OrderInput, priced: PricedOrder): Promise<null>;
  refundPayment(sagaId: string): Promise<null>;
  recordPurchase(sagaId: string, order: OrderInput, priced: PricedOrder): Promise<null>;
  cancelPurchase(sagaId: string): Promise<null>;
  takeStock(sagaId: string, order: OrderInput): Promise<null>;
  restoreStock(sagaId: string): Promise<null>;
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
      await c.payments.processPayment(
        { idempotencyKey: stepKey(sagaId, ORDER_STEPS.charge), customerId: order.customerId, amountCents: BigInt(priced.totalCents) },
        opts,
      );
      return null;
    },
    async refundPayment(sagaId) {
      await c.payments.cancelPayment({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.charge) }, opts);
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
    async takeStock(sagaId, order) {
      await c.inventory.updateInventory({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.stock), lines: order.items.map((i) => ({ ...i })) }, opts);
      return null;
    },
    async restoreStock(sagaId) {
      await c.inventory.restoreInventory({ idempotencyKey: stepKey(sagaId, ORDER_STEPS.stock) }, opts);
      return null;
    },
  };
}
