/**
 * The order saga, in the seed's order. Each mutating service keeps a pending state (a semantic
 * lock) until the saga's pivot, take-stock, the last action: before it, a failure compensates
 * every started step in reverse; once every action has succeeded, the three confirmations make
 * the pending records final, retried until they succeed and never compensated.
 *
 * | step            | service   | action           | compensation   | confirmation    | business failures                             |
 * |-----------------|-----------|------------------|----------------|-----------------|-----------------------------------------------|
 * | price-order     | catalog   | PriceOrder       | (none, a read) | (none)          | NOT_FOUND unknown product                     |
 * | charge-payment  | payments  | AuthorizePayment | VoidPayment    | CapturePayment  | NOT_FOUND customer, FAILED_PRECONDITION funds |
 * | record-purchase | purchases | ProcessPurchase  | CancelPurchase | ConfirmPurchase | FAILED_PRECONDITION over the unit limit       |
 * | take-stock      | inventory | ReserveStock     | ReleaseStock   | CommitStock     | FAILED_PRECONDITION not enough stock          |
 *
 * The compensation and confirmation columns are not written here: each step names its action's
 * method descriptor, and `contractStep` takes the other two from the contract's
 * `(saga.options.v1.saga)` option (docs/contracts.md), so they cannot be paired wrongly.
 * Step names are persisted keys: renaming one is a migration. Each mutating call carries the
 * engine's idempotency key `${sagaId}:${step}`, the same on every retry and after a crash, and
 * the step's compensation and confirmation carry the same key.
 */
import type { Client } from "@connectrpc/connect";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { contractStep } from "../contract-step.js";
import { defineSaga, type SagaDefinition } from "../engine/saga.js";
import type { CompensationRetryPolicy, RetryPolicy } from "../engine/retry.js";
import type { OrderInput } from "./order-input.js";

/** The four services the order saga calls. Any `Client` works: grpc-js in production, in-memory in tests. */
export interface OrderClients {
  readonly catalog: Client<typeof CatalogService>;
  readonly payments: Client<typeof PaymentsService>;
  readonly purchases: Client<typeof PurchasesService>;
  readonly inventory: Client<typeof InventoryService>;
}

/** What the catalog step journals: the priced lines and the total, as plain JSON numbers. */
export interface PricedOrder {
  totalCents: number;
  lines: { productId: string; quantity: number; unitPriceCents: number }[];
}

export const ORDER_SAGA = "order";

/** The order saga's step names: persisted keys, and the suffix of each step's idempotency key. */
export const ORDER_STEPS = {
  price: "price-order",
  charge: "charge-payment",
  purchase: "record-purchase",
  stock: "take-stock",
} as const;

export interface OrderSagaOptions {
  /** Retry policy of every action (per-call timeout, attempts, backoff). */
  readonly retry?: Partial<RetryPolicy>;
  /** Retry policy of every compensation. */
  readonly compensationRetry?: Partial<CompensationRetryPolicy>;
  /** The saga's own deadline, from creation. */
  readonly deadlineMs?: number;
}

/** The order saga on top of the generic engine: its steps and how each builds its request. */
export function orderSaga(c: OrderClients, options: OrderSagaOptions = {}): SagaDefinition<OrderInput> {
  const policy = { retry: options.retry, compensationRetry: options.compensationRetry };
  const priced = (results: Readonly<Record<string, unknown>>): PricedOrder => results[ORDER_STEPS.price] as PricedOrder;
  return defineSaga<OrderInput>(
    ORDER_SAGA,
    // Version 2: pending states (authorize/capture, pending/confirm, reserve/commit).
    2,
    [
      contractStep(ORDER_STEPS.price, c.catalog, CatalogService.method.priceOrder, {
        ...policy,
        request: ({ input }) => ({ lines: input.items.map((i) => ({ ...i })) }),
        output: (res) => ({
          totalCents: Number(res.totalCents),
          lines: res.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: Number(l.unitPriceCents) })),
        }),
      }),
      contractStep(ORDER_STEPS.charge, c.payments, PaymentsService.method.authorizePayment, {
        ...policy,
        request: ({ input, results }) => ({ customerId: input.customerId, amountCents: BigInt(priced(results).totalCents) }),
      }),
      contractStep(ORDER_STEPS.purchase, c.purchases, PurchasesService.method.processPurchase, {
        ...policy,
        request: ({ input, results }) => {
          const order = priced(results);
          return {
            customerId: input.customerId,
            lines: order.lines.map((l) => ({ productId: l.productId, quantity: l.quantity, unitPriceCents: BigInt(l.unitPriceCents) })),
            totalCents: BigInt(order.totalCents),
          };
        },
      }),
      contractStep(ORDER_STEPS.stock, c.inventory, InventoryService.method.reserveStock, {
        ...policy,
        request: ({ input }) => ({ lines: input.items.map((i) => ({ ...i })) }),
      }),
    ],
    { deadlineMs: options.deadlineMs },
  );
}
