import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PaymentStatus, PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { createDemoMode, DEMO_OFF, type DemoMode } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { paymentsHandlers } from "./handlers.js";
import { SqlitePaymentStore } from "./payment-store.js";
import { Payments } from "./payments.js";

function setup(demo: DemoMode = DEMO_OFF) {
  const store = new SqlitePaymentStore(openDatabase(":memory:"));
  store.seedIfEmpty(DEMO_ACCOUNTS);
  const handlers = paymentsHandlers(new Payments(store), demo);
  const client = createClient(
    PaymentsService,
    createRouterTransport((r) => r.service(PaymentsService, handlers)),
  );
  return { client, store };
}

const hold = { idempotencyKey: "k1", customerId: "customer-2", amountCents: 1_000n };

describe("AuthorizePayment", () => {
  it("holds the amount and returns the payment AUTHORIZED; the account shows held and available", async () => {
    const { client } = setup();
    const { payment } = await client.authorizePayment(hold);
    expect(payment).toMatchObject({ idempotencyKey: "k1", customerId: "customer-2", amountCents: 1_000n, status: PaymentStatus.AUTHORIZED });
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({
      balanceCents: 500_000n,
      heldCents: 1_000n,
      availableCents: 499_000n,
    });
  });

  it("returns the same payment on a repeat", async () => {
    const { client } = setup();
    const first = await client.authorizePayment(hold);
    expect(await client.authorizePayment(hold)).toEqual(first);
    expect((await client.getAccount({ customerId: "customer-2" })).account?.heldCents).toBe(1_000n);
  });

  it.each([
    [{ idempotencyKey: "" }, "idempotency_key: must not be empty"],
    [{ idempotencyKey: "a b" }, "idempotency_key: must be printable ASCII without spaces"],
    [{ idempotencyKey: "tab\there" }, "idempotency_key: must be printable ASCII without spaces"],
    [{ idempotencyKey: "clé" }, "idempotency_key: must be printable ASCII without spaces"],
    [{ idempotencyKey: "k".repeat(129) }, "idempotency_key: must be at most 128 characters"],
    [{ customerId: "" }, "customer_id: must not be empty"],
    [{ amountCents: 0n }, "amount_cents: must be between 1 and 1000000000000"],
    [{ amountCents: -5n }, "amount_cents: must be between 1 and 1000000000000"],
    [{ amountCents: 1_000_000_000_001n }, "amount_cents: must be between 1 and 1000000000000"],
    [{ amountCents: 2n ** 62n }, "amount_cents: must be between 1 and 1000000000000"],
  ])("rejects %o with INVALID_ARGUMENT and changes nothing", async (patch, message) => {
    const { client } = setup();
    expect(await failureOf(client.authorizePayment({ ...hold, ...patch }))).toEqual({ code: Code.InvalidArgument, message });
    expect((await client.listPayments({})).payments).toEqual([]);
  });

  it("accepts a 128-character key and the largest amount", async () => {
    const { client } = setup();
    const key = "k".repeat(128);
    const { payment } = await client.authorizePayment({ idempotencyKey: key, customerId: "customer-1", amountCents: 1_000_000n });
    expect(payment?.idempotencyKey).toBe(key);
    const big = await failureOf(client.authorizePayment({ idempotencyKey: "big", customerId: "customer-1", amountCents: 1_000_000_000_000n }));
    expect(big.code).toBe(Code.FailedPrecondition);
  });

  it("answers NOT_FOUND for an unknown customer and records nothing", async () => {
    const { client } = setup();
    const e = await failureOf(client.authorizePayment({ ...hold, customerId: "customer-9" }));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toContain("customer-9");
    expect(await failureOf(client.getPayment({ idempotencyKey: "k1" }))).toMatchObject({ code: Code.NotFound });
  });

  it("answers FAILED_PRECONDITION beyond what is available, again on a repeat, and records DECLINED", async () => {
    const { client } = setup();
    await client.authorizePayment({ idempotencyKey: "k0", customerId: "customer-3", amountCents: 600n });
    const req = { idempotencyKey: "k1", customerId: "customer-3", amountCents: 401n };
    const first = await failureOf(client.authorizePayment(req));
    expect(first.code).toBe(Code.FailedPrecondition);
    expect(await failureOf(client.authorizePayment(req))).toEqual(first);
    expect((await client.getPayment({ idempotencyKey: "k1" })).payment?.status).toBe(PaymentStatus.DECLINED);
    expect((await client.getAccount({ customerId: "customer-3" })).account).toMatchObject({
      balanceCents: 1_000n,
      heldCents: 600n,
      availableCents: 400n,
    });
  });

  it("answers ALREADY_EXISTS when the key is reused with another payload", async () => {
    const { client } = setup();
    await client.authorizePayment(hold);
    await expect(client.authorizePayment({ ...hold, amountCents: 2_000n })).rejects.toMatchObject({ code: Code.AlreadyExists });
    await expect(client.authorizePayment({ ...hold, customerId: "customer-1" })).rejects.toMatchObject({ code: Code.AlreadyExists });
  });

  it("answers FAILED_PRECONDITION when the payment was voided before it arrived", async () => {
    const { client } = setup();
    await client.voidPayment({ idempotencyKey: "k1" });
    const e = await failureOf(client.authorizePayment(hold));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toMatch(/cancelled before it arrived/);
    expect((await client.getAccount({ customerId: "customer-2" })).account?.heldCents).toBe(0n);
  });

  it("fails at random in demo mode, before anything changes; captures, voids and reads never fail", async () => {
    const { client, store } = setup(createDemoMode({ failureRate: 1, minLatencyMs: 0, maxLatencyMs: 0 }));
    const e = await failureOf(client.authorizePayment(hold));
    expect(e).toEqual({ code: Code.FailedPrecondition, message: "fallo simulado (modo demo)" });
    expect((await client.listPayments({})).payments).toEqual([]);
    // An authorization made beside demo mode is captured and voided through it.
    const direct = new Payments(store);
    await direct.authorize({ key: "a", customerId: "customer-1", amountCents: 1 });
    await direct.authorize({ key: "b", customerId: "customer-1", amountCents: 1 });
    expect((await client.capturePayment({ idempotencyKey: "a" })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await client.voidPayment({ idempotencyKey: "b" })).payment?.status).toBe(PaymentStatus.VOIDED);
    expect((await client.voidPayment({ idempotencyKey: "k1" })).payment?.status).toBe(PaymentStatus.CANCELLED);
    expect((await client.getAccount({ customerId: "customer-1" })).account?.balanceCents).toBe(999_999_999n);
  });

  it("answers INTERNAL without leaking the cause when the store breaks", async () => {
    const { client, store } = setup();
    store.close();
    expect(await failureOf(client.authorizePayment(hold))).toEqual({ code: Code.Internal, message: "internal error" });
  });
});

describe("CapturePayment", () => {
  it("charges the hold, idempotently", async () => {
    const { client } = setup();
    await client.authorizePayment(hold);
    const first = await client.capturePayment({ idempotencyKey: "k1" });
    expect(first.payment).toMatchObject({ status: PaymentStatus.CAPTURED, amountCents: 1_000n, customerId: "customer-2" });
    expect(await client.capturePayment({ idempotencyKey: "k1" })).toEqual(first);
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({
      balanceCents: 499_000n,
      heldCents: 0n,
      availableCents: 499_000n,
    });
  });

  it("answers FAILED_PRECONDITION with no payment, and records nothing", async () => {
    const { client } = setup();
    expect(await failureOf(client.capturePayment({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot capture payment "k1": there is none',
    });
    expect((await client.listPayments({})).payments).toEqual([]);
  });

  it("answers FAILED_PRECONDITION after a void, changing nothing", async () => {
    const { client } = setup();
    await client.authorizePayment(hold);
    await client.voidPayment({ idempotencyKey: "k1" });
    expect(await failureOf(client.capturePayment({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot capture payment "k1": it is VOIDED',
    });
    expect((await client.getPayment({ idempotencyKey: "k1" })).payment?.status).toBe(PaymentStatus.VOIDED);
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({ balanceCents: 500_000n, heldCents: 0n });
  });

  it("answers INVALID_ARGUMENT for an empty key", async () => {
    const { client } = setup();
    expect(await failureOf(client.capturePayment({ idempotencyKey: "" }))).toEqual({
      code: Code.InvalidArgument,
      message: "idempotency_key: must not be empty",
    });
  });
});

describe("VoidPayment", () => {
  it("releases the hold, idempotently", async () => {
    const { client } = setup();
    await client.authorizePayment(hold);
    const first = await client.voidPayment({ idempotencyKey: "k1" });
    expect(first.payment?.status).toBe(PaymentStatus.VOIDED);
    expect(await client.voidPayment({ idempotencyKey: "k1" })).toEqual(first);
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({
      balanceCents: 500_000n,
      heldCents: 0n,
      availableCents: 500_000n,
    });
  });

  it("records a tombstone for an unknown key", async () => {
    const { client } = setup();
    const { payment } = await client.voidPayment({ idempotencyKey: "nothing-yet" });
    expect(payment).toMatchObject({ idempotencyKey: "nothing-yet", status: PaymentStatus.CANCELLED, amountCents: 0n });
  });

  it("answers FAILED_PRECONDITION after a capture, changing nothing", async () => {
    const { client } = setup();
    await client.authorizePayment(hold);
    await client.capturePayment({ idempotencyKey: "k1" });
    expect(await failureOf(client.voidPayment({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot void payment "k1": it is CAPTURED, which is final',
    });
    expect((await client.getPayment({ idempotencyKey: "k1" })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await client.getAccount({ customerId: "customer-2" })).account?.balanceCents).toBe(499_000n);
  });

  it("succeeds and changes nothing on a DECLINED payment", async () => {
    const { client } = setup();
    await failureOf(client.authorizePayment({ idempotencyKey: "k1", customerId: "customer-3", amountCents: 1_001n }));
    expect((await client.voidPayment({ idempotencyKey: "k1" })).payment?.status).toBe(PaymentStatus.DECLINED);
    expect((await client.getAccount({ customerId: "customer-3" })).account).toMatchObject({ balanceCents: 1_000n, heldCents: 0n });
  });

  it("answers INVALID_ARGUMENT for an empty key", async () => {
    const { client } = setup();
    expect(await failureOf(client.voidPayment({ idempotencyKey: "" }))).toEqual({
      code: Code.InvalidArgument,
      message: "idempotency_key: must not be empty",
    });
  });
});

describe("reads", () => {
  it("GetAccount returns an account, NOT_FOUND for an unknown one, INVALID_ARGUMENT for a bad id", async () => {
    const { client } = setup();
    expect((await client.getAccount({ customerId: "customer-1" })).account).toMatchObject({
      customerId: "customer-1",
      balanceCents: 1_000_000_000n,
      heldCents: 0n,
      availableCents: 1_000_000_000n,
    });
    await expect(client.getAccount({ customerId: "nobody" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.getAccount({ customerId: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("ListAccounts returns every account ordered by customer_id", async () => {
    const { client } = setup();
    const { accounts } = await client.listAccounts({});
    expect(accounts.map((a) => [a.customerId, a.balanceCents])).toEqual([
      ["customer-1", 1_000_000_000n],
      ["customer-2", 500_000n],
      ["customer-3", 1_000n],
    ]);
  });

  it("GetPayment answers INVALID_ARGUMENT for a bad key and NOT_FOUND for an unknown one", async () => {
    const { client } = setup();
    await expect(client.getPayment({ idempotencyKey: "x y" })).rejects.toMatchObject({ code: Code.InvalidArgument });
    await expect(client.getPayment({ idempotencyKey: "unknown" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("ListPayments pages by key without gaps or repeats", async () => {
    const { client } = setup();
    const keys = Array.from({ length: 7 }, (_, i) => `key-${i}`);
    for (const k of [...keys].reverse()) await client.authorizePayment({ idempotencyKey: k, customerId: "customer-1", amountCents: 1n });
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const res = await client.listPayments({ pageSize: 3, pageToken });
      seen.push(...res.payments.map((p) => p.idempotencyKey));
      pageToken = res.nextPageToken;
      pages++;
    } while (pageToken !== "");
    expect(seen).toEqual(keys);
    expect(pages).toBe(3);
    const all = await client.listPayments({ pageSize: 0 });
    expect(all.payments).toHaveLength(7);
    expect(all.nextPageToken).toBe("");
  });

  it("ListPayments rejects a bad page_size or page_token", async () => {
    const { client } = setup();
    expect(await failureOf(client.listPayments({ pageSize: -1 }))).toEqual({
      code: Code.InvalidArgument,
      message: "page_size: must be between 0 and 1000",
    });
    await expect(client.listPayments({ pageSize: 1001 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    for (const pageToken of ["not base64!", "e30", Buffer.from('{"v":1,"after":""}').toString("base64url"), "AAAA"]) {
      const e = await failureOf(client.listPayments({ pageToken }));
      expect(e.code).toBe(Code.InvalidArgument);
      expect(e.message).toMatch(/^page_token: /);
    }
  });
});
