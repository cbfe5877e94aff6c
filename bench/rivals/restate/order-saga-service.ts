/**
 * The order saga as a Restate service, written the way Restate's saga example writes one: a
 * compensation is armed (pushed) before its step runs, every step is a `ctx.run` journal
 * entry, a business refusal becomes a `TerminalError`, and the compensations then run in
 * reverse order, each its own `ctx.run`. Once the last action (the pivot) has succeeded, the
 * three confirmations run in order, each its own `ctx.run` retried until it succeeds. The steps are TP-SAGA's own calls (`order-steps.ts`)
 * on the four real gRPC services; the idempotency key of a step is `<invocation id>:<step>`.
 *
 * Answers: 200 `{ sagaId, status: "COMPLETED", totalCents }`, or — once every compensation has
 * run — a `TerminalError` with HTTP code 409, as TP-SAGA's gateway answers a compensated saga.
 */
import * as restate from "@restatedev/restate-sdk";
import { ConnectError } from "@connectrpc/connect";
import { normaliseOrder, type OrderInput } from "../../../orchestrator/order-saga/order-input.js";
import { COMPENSATION_STEPS, CONFIRMATION_STEPS, ORDER_STEPS, type OrderSteps, type PricedOrder } from "../order-steps.js";
import { codeName, isBusinessFailure } from "../failure-kind.js";
import type { OutcomeLedger } from "../saga-outcome.js";

/** Calls an action's attempts in total, first included: the orchestrator's `STEP_MAX_ATTEMPTS` default. */
const ACTION_ATTEMPTS = 8;

/** Name of the service at the ingress: `POST /OrderSaga/run`. */
export const RESTATE_SERVICE_NAME = "OrderSaga";

/** What the ingress answers for a completed saga. */
export interface RestateSagaAnswer {
  readonly sagaId: string;
  readonly status: "COMPLETED";
  readonly totalCents: number;
}

/**
 * Runs `call` as a business step: a business refusal is terminal (no retry, the saga
 * compensates), any other error is left to Restate's retries.
 */
async function businessStep<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isBusinessFailure(err)) throw new restate.TerminalError(err.rawMessage, { errorCode: 409, metadata: { grpcCode: codeName(err) } });
    throw err;
  }
}

/** The Restate service `OrderSaga` with one handler, `run`, over `steps`; every outcome is recorded in `ledger`. */
export function orderSagaService(steps: OrderSteps, ledger: OutcomeLedger) {
  const action = { maxRetryAttempts: ACTION_ATTEMPTS, initialRetryInterval: 100, maxRetryInterval: 2_000, retryIntervalFactor: 2 };
  return restate.service({
    name: RESTATE_SERVICE_NAME,
    handlers: {
      run: async (ctx: restate.Context, body: unknown): Promise<RestateSagaAnswer> => {
        let order: OrderInput;
        try {
          order = normaliseOrder(body as OrderInput);
        } catch (err) {
          if (err instanceof ConnectError) throw new restate.TerminalError(err.rawMessage, { errorCode: 400 });
          if (err instanceof TypeError) throw new restate.TerminalError(err.message, { errorCode: 400 });
          throw err;
        }
        const sagaId = ctx.request().id;
        const compensations: (() => Promise<unknown>)[] = [];
        let failedStep = "";
        let priced: PricedOrder | undefined;
        const run = <T>(name: string, call: () => Promise<T>): Promise<T> => {
          failedStep = name;
          return ctx.run(name, () => businessStep(call), action);
        };
        try {
          priced = await run(ORDER_STEPS.price, () => steps.priceOrder(order));
          const p = priced;
          compensations.push(() => ctx.run(COMPENSATION_STEPS.voidPayment, () => steps.voidPayment(sagaId)));
          await run(ORDER_STEPS.charge, () => steps.chargePayment(sagaId, order, p));
          compensations.push(() => ctx.run(COMPENSATION_STEPS.cancelPurchase, () => steps.cancelPurchase(sagaId)));
          await run(ORDER_STEPS.purchase, () => steps.recordPurchase(sagaId, order, p));
          compensations.push(() => ctx.run(COMPENSATION_STEPS.releaseStock, () => steps.releaseStock(sagaId)));
          await run(ORDER_STEPS.stock, () => steps.takeStock(sagaId, order));
        } catch (err) {
          if (!(err instanceof restate.TerminalError)) throw err;
          for (const compensate of compensations.reverse()) await compensate();
          const errorCode = err.metadata?.["grpcCode"] ?? "RETRIES_EXHAUSTED";
          ledger.record({ sagaId, status: "COMPENSATED", order, totalCents: priced?.totalCents ?? 0, failedStep, errorCode, error: err.message });
          throw new restate.TerminalError(`saga compensated: ${failedStep} failed (${errorCode}): ${err.message}`, { errorCode: 409 });
        }
        await ctx.run(CONFIRMATION_STEPS.capturePayment, () => steps.capturePayment(sagaId));
        await ctx.run(CONFIRMATION_STEPS.confirmPurchase, () => steps.confirmPurchase(sagaId));
        await ctx.run(CONFIRMATION_STEPS.commitStock, () => steps.commitStock(sagaId));
        ledger.record({ sagaId, status: "COMPLETED", order, totalCents: priced.totalCents });
        return { sagaId, status: "COMPLETED", totalCents: priced.totalCents };
      },
    },
  });
}
