import { describe, expect, it } from "vitest";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchaseStatus } from "#gen/saga/purchases/v1/purchases_pb.js";
import { ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { inProcessSystem } from "./in-process-system.js";

// The whole order saga in one process (./in-process-system.ts); faults are injected in the
// transport (a dependency), never through API fields.
/** Lets the call reach the service, then drops its answer as UNAVAILABLE, `times` times. */
function loseReplies(method: string, times: number): Interceptor {
  let left = times;
  return (next) => async (req) => {
    const res = await next(req);
    if (req.method.name === method && left > 0) {
      left--;
      throw new ConnectError("reply lost", Code.Unavailable);
    }
    return res;
  };
}

const system = (interceptors: Interceptor[] = []) => inProcessSystem({ interceptors });

/**
 * Starts a saga, which answers once its outcome is decided, then waits for it to end (a
 * completing saga's confirmations run after the answer) and reads it back with its whole history.
 */
async function start(s: ReturnType<typeof system>, customerId: string, productId: string, quantity: number, idempotencyKey = "") {
  const { saga } = await s.orchestrator.startSaga({ idempotencyKey, order: { customerId, items: [{ productId, quantity }] }, waitMs: 10_000 });
  expect(saga?.steps).toEqual([]); // StartSaga leaves the history out; GetSaga has it
  expect([SagaStatus.CONFIRMING, SagaStatus.COMPLETED, SagaStatus.COMPENSATED]).toContain(saga!.status);
  await s.runner.wait(saga!.sagaId, 10_000, "terminal");
  return (await s.orchestrator.getSaga({ sagaId: saga!.sagaId })).saga!;
}

/** Every product's [on hand, reserved], to show that a saga moved no stock at all. */
async function stockLevels(clients: ReturnType<typeof system>["clients"]) {
  return (await clients.inventory.listStock({})).stock.map((s) => [s.productId, s.quantity, s.reserved]);
}

describe("the order saga over the real services, in one process", () => {
  it("completes: one captured payment, one confirmed purchase, one committed reservation, nothing left pending", async () => {
    const sys = system();
    const { clients } = sys;
    const saga = await start(sys, "customer-2", "mouse", 2);
    expect(saga.status).toBe(SagaStatus.COMPLETED);
    expect(saga.totalCents).toBe(5000n);
    expect((await clients.payments.getAccount({ customerId: "customer-2" })).account).toMatchObject({ balanceCents: 495_000n, heldCents: 0n });
    expect((await clients.payments.getPayment({ idempotencyKey: `${saga.sagaId}:charge-payment` })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await clients.purchases.getPurchase({ idempotencyKey: `${saga.sagaId}:record-purchase` })).purchase?.status).toBe(
      PurchaseStatus.CONFIRMED,
    );
    expect((await clients.inventory.listReservations({})).reservations.map((r) => r.status)).toEqual([ReservationStatus.COMMITTED]);
    expect((await clients.inventory.getStock({ productId: "mouse" })).stock).toMatchObject({ quantity: 999_998n, reserved: 0n });
  });

  it("each step's confirmation makes its own record final under the step's key, and a repeat changes nothing", async () => {
    const sys = system();
    const { clients, definition } = sys;
    const saga = await start(sys, "customer-2", "mouse", 2);
    expect(saga.status).toBe(SagaStatus.COMPLETED);
    // Called as the engine calls them after the pivot (twice: a confirmation may be retried).
    for (let round = 0; round < 2; round++) {
      for (const s of definition.steps) {
        const ctx = {
          sagaId: saga.sagaId,
          key: `${saga.sagaId}:${s.name}`,
          input: {},
          results: {},
          attempt: 1,
          timeoutMs: 5_000,
          signal: new AbortController().signal,
        };
        await s.confirm?.(ctx as Parameters<NonNullable<typeof s.confirm>>[0]);
      }
    }
    expect(definition.steps.filter((s) => s.confirm).map((s) => s.name)).toEqual(["charge-payment", "record-purchase", "take-stock"]);
    expect((await clients.payments.getAccount({ customerId: "customer-2" })).account).toMatchObject({ balanceCents: 495_000n, heldCents: 0n });
    expect((await clients.payments.getPayment({ idempotencyKey: `${saga.sagaId}:charge-payment` })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await clients.purchases.getPurchase({ idempotencyKey: `${saga.sagaId}:record-purchase` })).purchase?.status).toBe(
      PurchaseStatus.CONFIRMED,
    );
    expect((await clients.inventory.getStock({ productId: "mouse" })).stock).toMatchObject({ quantity: 999_998n, reserved: 0n });
  });

  it.each([
    ["price-order", "customer-1", "unicorn", 1, []],
    ["charge-payment", "customer-3", "notebook", 1, ["charge-payment"]],
    ["record-purchase", "customer-1", "mouse", 11, ["record-purchase", "charge-payment"]],
    ["take-stock", "customer-1", "webcam", 1, ["take-stock", "record-purchase", "charge-payment"]],
  ])("a business failure at %s compensates in reverse and moves no money or stock", async (failedStep, customer, product, quantity, compensated) => {
    const sys = system();
    const { clients } = sys;
    const before = (await clients.payments.getAccount({ customerId: customer })).account?.balanceCents;
    const stockBefore = await stockLevels(clients);
    const saga = await start(sys, customer, product, quantity as number);
    expect(saga.status).toBe(SagaStatus.COMPENSATED);
    expect(saga.failedStep).toBe(failedStep);
    expect(saga.steps.filter((s) => s.phase === 2).map((s) => s.name)).toEqual(compensated);
    expect((await clients.payments.getAccount({ customerId: customer })).account).toMatchObject({ balanceCents: before, heldCents: 0n });
    // Every product, the ordered one included, is as it was: nothing on hand moved, nothing stays reserved.
    expect(await stockLevels(clients)).toEqual(stockBefore);
    expect((await clients.inventory.listReservations({})).reservations.filter((r) => r.status === ReservationStatus.RESERVED)).toEqual([]);
  });

  it("retries lost replies with the same key: the customer is charged once", async () => {
    const sys = system([loseReplies("AuthorizePayment", 2), loseReplies("ReserveStock", 1)]);
    const { clients } = sys;
    const saga = await start(sys, "customer-2", "keyboard", 1);
    expect(saga.status).toBe(SagaStatus.COMPLETED);
    expect(saga.steps.find((s) => s.name === "charge-payment")?.attempts).toBe(3);
    expect((await clients.payments.getAccount({ customerId: "customer-2" })).account).toMatchObject({ balanceCents: 495_500n, heldCents: 0n });
    const payment = (await clients.payments.getPayment({ idempotencyKey: `${saga.sagaId}:charge-payment` })).payment;
    expect(payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await clients.inventory.getStock({ productId: "keyboard" })).stock).toMatchObject({ quantity: 499_999n, reserved: 0n });
  });

  it("returns the same saga for a repeated key and refuses the key for another order", async () => {
    const sys = system();
    const { orchestrator } = sys;
    const first = await start(sys, "customer-2", "mouse", 1, "key-1");
    const again = await start(sys, "customer-2", "mouse", 1, "key-1");
    expect(again.sagaId).toBe(first.sagaId);
    await expect(start(sys, "customer-2", "mouse", 2, "key-1")).rejects.toMatchObject({ code: Code.AlreadyExists });
    await expect(orchestrator.startSaga({ order: { customerId: "customer-2", items: [] } })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: expect.stringContaining("items"),
    });
  });
});
