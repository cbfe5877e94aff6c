import { Code, ConnectError } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { PaymentStatus, PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { serviceReplicasOnOneDatabase } from "#platform/service-stores-for-tests.js";
import { failureOf } from "#platform/rpc-errors.js";
import { paymentsHandlers } from "./handlers.js";
import { Payments } from "./payments.js";
import { PostgresPaymentStore } from "./postgres-payment-store.js";

// Two replicas of the payments service (two stores, each with its own pool, each behind its own
// gRPC server on port 0) on one PostgreSQL database: they must behave as one service.
const replicas = serviceReplicasOnOneDatabase({
  service: PaymentsService,
  databasePrefix: "payments_replicas",
  openStore: (pool) => PostgresPaymentStore.open(pool),
  handlers: (store) => paymentsHandlers(new Payments(store), DEMO_OFF),
  clientTimeoutMs: 20_000,
});

const A = () => replicas.client(0);
const B = () => replicas.client(1);

/** Accounts start afresh for each test: `alice` 10,000 cents, `bob` 1,000. */
beforeEach(() =>
  replicas.runStatements("TRUNCATE accounts, payments", "INSERT INTO accounts (customer_id, balance_cents) VALUES ('alice', 10000), ('bob', 1000)"),
);

const account = async (customerId: string) => (await A().getAccount({ customerId })).account!;
const payment = async (key: string) => (await B().getPayment({ idempotencyKey: key })).payment!;

async function allPayments() {
  const out = [];
  let pageToken = "";
  for (let page = 0; page < 100; page++) {
    const res = await A().listPayments({ pageSize: 500, pageToken });
    out.push(...res.payments);
    pageToken = res.nextPageToken;
    if (!pageToken) break;
  }
  return out;
}

describe("two payments replicas on one database", () => {
  it("authorize and capture sent to both at once, under the same keys: one hold and one charge per key", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `same-${i}`);
    const answers = await Promise.all(
      keys.flatMap((key) => [A(), B(), A(), B()].map((c) => c.authorizePayment({ idempotencyKey: key, customerId: "alice", amountCents: 100n }))),
    );
    expect(answers.every((a) => a.payment?.status === PaymentStatus.AUTHORIZED)).toBe(true);
    expect(await account("alice")).toMatchObject({ balanceCents: 10_000n, heldCents: 4_000n });

    const captured = await Promise.all(keys.flatMap((key) => [A(), B()].map((c) => c.capturePayment({ idempotencyKey: key }))));
    expect(captured.every((a) => a.payment?.status === PaymentStatus.CAPTURED)).toBe(true);
    expect(await account("alice")).toMatchObject({ balanceCents: 6_000n, heldCents: 0n });
    const records = await allPayments();
    expect(records).toHaveLength(keys.length);
    expect(records.every((p) => p.status === PaymentStatus.CAPTURED && p.amountCents === 100n)).toBe(true);
  });

  it("a void on one replica racing the late authorization on the other ends as on one service: nothing stays held", async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    const outcomes = await Promise.all(
      keys.map(async (key, i) => {
        // Alternate which replica gets which call, and which is sent first.
        const [first, second] = i % 2 === 0 ? [A(), B()] : [B(), A()];
        const authorize = () =>
          failureOf(first.authorizePayment({ idempotencyKey: key, customerId: "alice", amountCents: 50n })).catch(() => undefined);
        const voids = () => second.voidPayment({ idempotencyKey: key });
        const [auth, voided] =
          i % 3 === 0 ? await Promise.all([voids(), authorize()]).then(([v, a]) => [a, v] as const) : await Promise.all([authorize(), voids()]);
        return { key, auth, voided: voided.payment!.status };
      }),
    );
    for (const o of outcomes) {
      const status = (await payment(o.key)).status;
      if (o.voided === PaymentStatus.CANCELLED) {
        // The void came first: a tombstone, and the late authorization was refused.
        expect(status).toBe(PaymentStatus.CANCELLED);
        expect(o.auth?.code).toBe(Code.FailedPrecondition);
      } else {
        // The authorization came first: the void released it.
        expect(o.voided).toBe(PaymentStatus.VOIDED);
        expect(status).toBe(PaymentStatus.VOIDED);
      }
    }
    expect(await account("alice")).toMatchObject({ balanceCents: 10_000n, heldCents: 0n });
  });

  it("authorizations of one account on both replicas at once never hold more than its balance", async () => {
    // bob has 1,000 cents: 50 authorizations of 70 cents, 25 on each replica, can hold at most 14.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? A() : B())
          .authorizePayment({ idempotencyKey: `bob-${i}`, customerId: "bob", amountCents: 70n })
          .then(() => "held" as const)
          .catch((err: unknown) =>
            ConnectError.from(err).code === Code.FailedPrecondition ? ("declined" as const) : ConnectError.from(err).message,
          ),
      ),
    );
    expect(results.filter((r) => r !== "held" && r !== "declined")).toEqual([]);
    expect(results.filter((r) => r === "held")).toHaveLength(14);
    const bob = await account("bob");
    expect(bob).toMatchObject({ balanceCents: 1_000n, heldCents: 980n, availableCents: 20n });
    const records = await allPayments();
    expect(records.filter((p) => p.status === PaymentStatus.AUTHORIZED)).toHaveLength(14);
    expect(records.filter((p) => p.status === PaymentStatus.DECLINED)).toHaveLength(36);
  });
});
