/**
 * The order saga as a DBOS workflow: each of TP-SAGA's calls (`order-steps.ts`) is a
 * `DBOS.runStep` checkpointed in DBOS's system database on PostgreSQL; a compensation is
 * armed before its step, and when a step fails for good (a business refusal, or transient
 * errors past its retries) the armed compensations run in reverse order, each a step of its own.
 * Once the last action (the pivot) has succeeded, the three confirmations run in order, each a
 * step retried until it succeeds, and nothing is compensated any more.
 * The idempotency key of a step is `<workflow id>:<step>`.
 */
import { DBOS, type StepConfig } from "@dbos-inc/dbos-sdk";
import type { OrderInput } from "../../../orchestrator/order-saga/order-input.js";
import { COMPENSATION_STEPS, CONFIRMATION_STEPS, ORDER_STEPS, type OrderSteps, type PricedOrder } from "../order-steps.js";
import { codeName, isBusinessFailure } from "../failure-kind.js";

/** What the workflow returns; the HTTP endpoint answers 200 for COMPLETED and 409 for COMPENSATED. */
export interface DbosSagaAnswer {
  readonly sagaId: string;
  readonly status: "COMPLETED" | "COMPENSATED";
  readonly totalCents: number;
  readonly failedStep?: string;
  readonly errorCode?: string;
  readonly error?: string;
}

/** Actions: 8 calls in total, 100 ms backoff doubling (the orchestrator's defaults); a business refusal is not retried. */
const ACTION: StepConfig = { retriesAllowed: true, maxAttempts: 8, intervalSeconds: 0.1, backoffRate: 2, shouldRetry: (e) => !isBusinessFailure(e) };
/** Compensations: retried on any error, 20 calls (the orchestrator's compensation budget). */
const COMPENSATION: StepConfig = { retriesAllowed: true, maxAttempts: 20, intervalSeconds: 0.1, backoffRate: 1.5 };
/** Confirmations: retried on any error, as compensations are; past the pivot they must succeed. */
const CONFIRMATION: StepConfig = COMPENSATION;

/** Registers the workflow `orderSaga` over `steps`; call the returned function to run one saga. */
export function registerOrderSagaWorkflow(steps: OrderSteps): (order: OrderInput) => Promise<DbosSagaAnswer> {
  return DBOS.registerWorkflow(
    async (order: OrderInput): Promise<DbosSagaAnswer> => {
      const sagaId = DBOS.workflowID;
      if (!sagaId) throw new Error("orderSaga runs outside a workflow");
      const compensations: (() => Promise<unknown>)[] = [];
      let failedStep = "";
      let priced: PricedOrder | undefined;
      const run = <T>(name: string, call: () => Promise<T>): Promise<T> => {
        failedStep = name;
        return DBOS.runStep(call, { ...ACTION, name });
      };
      try {
        priced = await run(ORDER_STEPS.price, () => steps.priceOrder(order));
        const p = priced;
        compensations.push(() => DBOS.runStep(() => steps.voidPayment(sagaId), { ...COMPENSATION, name: COMPENSATION_STEPS.voidPayment }));
        await run(ORDER_STEPS.charge, () => steps.chargePayment(sagaId, order, p));
        compensations.push(() => DBOS.runStep(() => steps.cancelPurchase(sagaId), { ...COMPENSATION, name: COMPENSATION_STEPS.cancelPurchase }));
        await run(ORDER_STEPS.purchase, () => steps.recordPurchase(sagaId, order, p));
        compensations.push(() => DBOS.runStep(() => steps.releaseStock(sagaId), { ...COMPENSATION, name: COMPENSATION_STEPS.releaseStock }));
        await run(ORDER_STEPS.stock, () => steps.takeStock(sagaId, order));
      } catch (err) {
        // A step that failed for good: refused, or still failing after its retries (its outcome
        // unknown, so it is compensated as if it had happened). DBOS's own errors (cancellation,
        // lost ownership) are not step failures: they propagate.
        if ((err as Error).name?.startsWith("DBOS") && (err as Error).name !== "DBOSMaxStepRetriesError") throw err;
        for (const compensate of compensations.reverse()) await compensate();
        const errorCode = isBusinessFailure(err) ? codeName(err) : "RETRIES_EXHAUSTED";
        return { sagaId, status: "COMPENSATED", totalCents: priced?.totalCents ?? 0, failedStep, errorCode, error: (err as Error).message };
      }
      await DBOS.runStep(() => steps.capturePayment(sagaId), { ...CONFIRMATION, name: CONFIRMATION_STEPS.capturePayment });
      await DBOS.runStep(() => steps.confirmPurchase(sagaId), { ...CONFIRMATION, name: CONFIRMATION_STEPS.confirmPurchase });
      await DBOS.runStep(() => steps.commitStock(sagaId), { ...CONFIRMATION, name: CONFIRMATION_STEPS.commitStock });
      return { sagaId, status: "COMPLETED", totalCents: priced.totalCents };
    },
    { name: "orderSaga" },
  );
}
