import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PurchaseStatus, PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { serviceReplicasOnOneDatabase } from "#platform/service-stores-for-tests.js";
import { purchasesHandlers } from "./handlers.js";
import { PostgresPurchaseStore } from "./postgres-purchase-store.js";
import { Purchases } from "./purchases.js";

// Two replicas of the purchases service (two stores, each with its own pool, each behind its
// own gRPC server on port 0) on one PostgreSQL database: they must behave as one service.
const replicas = serviceReplicasOnOneDatabase({
  service: PurchasesService,
  databasePrefix: "purchases_replicas",
  openStore: (pool) => PostgresPurchaseStore.open(pool),
  handlers: (store) => purchasesHandlers(new Purchases(store), DEMO_OFF),
  clientTimeoutMs: 30_000,
});

const A = () => replicas.client(0);
const B = () => replicas.client(1);
const order = (key: string) => ({
  idempotencyKey: key,
  customerId: "customer-1",
  lines: [{ productId: "mouse", quantity: 2, unitPriceCents: 2_500n }],
  totalCents: 5_000n,
});
const purchases = async () => (await A().listPurchases({ pageSize: 1000 })).purchases;

describe("two purchases replicas on one database", () => {
  it("the same purchase sent to both at once is recorded once, and confirmed once", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `same-${i}`);
    const answers = await Promise.all(keys.flatMap((key) => [A(), B(), A(), B()].map((c) => c.processPurchase(order(key)))));
    expect(answers.every((a) => a.purchase?.status === PurchaseStatus.PENDING)).toBe(true);
    const confirmed = await Promise.all(keys.flatMap((key) => [A(), B()].map((c) => c.confirmPurchase({ idempotencyKey: key }))));
    expect(confirmed.every((a) => a.purchase?.status === PurchaseStatus.CONFIRMED)).toBe(true);
    const records = (await purchases()).filter((p) => p.idempotencyKey.startsWith("same-"));
    expect(records).toHaveLength(40);
    expect(records.every((p) => p.status === PurchaseStatus.CONFIRMED)).toBe(true);
  });

  it("a cancellation on one replica racing the late purchase on the other ends as on one service: nothing stays pending", async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    const outcomes = await Promise.all(
      keys.map(async (key, i) => {
        const [first, second] = i % 2 === 0 ? [A(), B()] : [B(), A()];
        const process = first
          .processPurchase(order(key))
          .then(() => undefined)
          .catch((err: unknown) => ConnectError.from(err).code);
        const cancel = second.cancelPurchase({ idempotencyKey: key });
        const [refused, cancelled] = await Promise.all([process, cancel]);
        return { key, refused, cancelled: cancelled.purchase!.status };
      }),
    );
    const byKey = new Map((await purchases()).map((p) => [p.idempotencyKey, p.status]));
    for (const o of outcomes) {
      if (o.cancelled === PurchaseStatus.VOIDED) {
        // The cancellation came first: a tombstone, and the late purchase was refused.
        expect(byKey.get(o.key)).toBe(PurchaseStatus.VOIDED);
        expect(o.refused).toBe(Code.FailedPrecondition);
      } else {
        expect(o.cancelled).toBe(PurchaseStatus.CANCELLED);
        expect(byKey.get(o.key)).toBe(PurchaseStatus.CANCELLED);
      }
    }
  });
});
