import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { PurchaseStatus, PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { createDemoMode, DEMO_OFF, type DemoMode } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { openDatabase } from "#platform/sqlite.js";
import { purchasesHandlers } from "./handlers.js";
import { SqlitePurchaseStore } from "./purchase-store.js";
import { Purchases } from "./purchases.js";

function setup(demo: DemoMode = DEMO_OFF) {
  const store = new SqlitePurchaseStore(openDatabase(":memory:"));
  const handlers = purchasesHandlers(new Purchases(store), demo);
  const client = createClient(
    PurchasesService,
    createRouterTransport((r) => r.service(PurchasesService, handlers)),
  );
  return { client, store };
}

const purchase = {
  idempotencyKey: "k1",
  customerId: "customer-1",
  lines: [
    { productId: "notebook", quantity: 1, unitPriceCents: 150_000n },
    { productId: "mouse", quantity: 2, unitPriceCents: 2_500n },
  ],
  totalCents: 155_000n,
};

describe("ProcessPurchase", () => {
  it("records a pending purchase and returns the same one on a repeat", async () => {
    const { client } = setup();
    const { purchase: p } = await client.processPurchase(purchase);
    expect(p).toMatchObject({ idempotencyKey: "k1", customerId: "customer-1", totalCents: 155_000n, status: PurchaseStatus.PENDING });
    expect(p?.lines.map((l) => [l.productId, l.quantity, l.unitPriceCents])).toEqual([
      ["notebook", 1, 150_000n],
      ["mouse", 2, 2_500n],
    ]);
    expect((await client.processPurchase(purchase)).purchase).toEqual(p);
    expect((await client.listPurchases({})).purchases).toHaveLength(1);
  });

  it.each([
    [{ idempotencyKey: "" }, "idempotency_key: must not be empty"],
    [{ idempotencyKey: "ключ" }, "idempotency_key: must be printable ASCII without spaces"],
    [{ customerId: "" }, "customer_id: must not be empty"],
    [{ customerId: "customer 1" }, "customer_id: must be printable ASCII without spaces"],
    [{ lines: [], totalCents: 1n }, "lines: must not be empty"],
    [
      { lines: Array.from({ length: 101 }, () => ({ productId: "mouse", quantity: 1, unitPriceCents: 1n })), totalCents: 101n },
      "lines: must have at most 100 lines",
    ],
    [{ lines: [{ productId: "", quantity: 1, unitPriceCents: 1n }], totalCents: 1n }, "lines[0].product_id: must not be empty"],
    [{ lines: [purchase.lines[0]!, { productId: "mouse", quantity: 0, unitPriceCents: 1n }] }, "lines[1].quantity: must be between 1 and 10000"],
    [
      { lines: [purchase.lines[0]!, { productId: "mouse", quantity: 1, unitPriceCents: 0n }] },
      "lines[1].unit_price_cents: must be between 1 and 1000000000000",
    ],
    [{ totalCents: 0n }, "total_cents: must be between 1 and 1000000000000"],
    [{ totalCents: 155_001n }, "total_cents: must equal the sum of the lines (155000)"],
  ])("rejects %o with INVALID_ARGUMENT and changes nothing", async (patch, message) => {
    const { client } = setup();
    expect(await failureOf(client.processPurchase({ ...purchase, ...patch }))).toEqual({ code: Code.InvalidArgument, message });
    expect((await client.listPurchases({})).purchases).toEqual([]);
  });

  it("answers FAILED_PRECONDITION over 10 units, again on a repeat, and records REJECTED", async () => {
    const { client } = setup();
    const big = { ...purchase, lines: [{ productId: "mouse", quantity: 11, unitPriceCents: 2_500n }], totalCents: 27_500n };
    const e = await failureOf(client.processPurchase(big));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toMatch(/at most 10 units/);
    expect(await failureOf(client.processPurchase(big))).toEqual(e);
    expect((await client.getPurchase({ idempotencyKey: "k1" })).purchase?.status).toBe(PurchaseStatus.REJECTED);
  });

  it("answers ALREADY_EXISTS when the key is reused with another purchase", async () => {
    const { client } = setup();
    await client.processPurchase(purchase);
    await expect(client.processPurchase({ ...purchase, customerId: "customer-2" })).rejects.toMatchObject({ code: Code.AlreadyExists });
  });

  it("answers FAILED_PRECONDITION when cancelled before it arrived", async () => {
    const { client } = setup();
    await client.cancelPurchase({ idempotencyKey: "k1" });
    const e = await failureOf(client.processPurchase(purchase));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toMatch(/cancelled before it arrived/);
    expect((await client.getPurchase({ idempotencyKey: "k1" })).purchase?.status).toBe(PurchaseStatus.VOIDED);
  });

  it("fails at random in demo mode, before anything changes; confirmations, cancellations and reads never fail", async () => {
    const { client, store } = setup(createDemoMode({ failureRate: 1, minLatencyMs: 0, maxLatencyMs: 0 }));
    expect(await failureOf(client.processPurchase(purchase))).toEqual({ code: Code.FailedPrecondition, message: "fallo simulado (modo demo)" });
    expect((await client.listPurchases({})).purchases).toEqual([]);
    const direct = new Purchases(store);
    await direct.process({ key: "a", customerId: "c", lines: [{ productId: "mouse", quantity: 1, unitPriceCents: 1 }], totalCents: 1 });
    expect((await client.confirmPurchase({ idempotencyKey: "a" })).purchase?.status).toBe(PurchaseStatus.CONFIRMED);
    expect((await client.cancelPurchase({ idempotencyKey: "k1" })).purchase?.status).toBe(PurchaseStatus.VOIDED);
    expect((await client.getPurchase({ idempotencyKey: "a" })).purchase?.status).toBe(PurchaseStatus.CONFIRMED);
  });

  it("answers INTERNAL without leaking the cause when the store breaks", async () => {
    const { client, store } = setup();
    store.close();
    expect(await failureOf(client.processPurchase(purchase))).toEqual({ code: Code.Internal, message: "internal error" });
  });
});

describe("ConfirmPurchase", () => {
  it("confirms a pending purchase, idempotently", async () => {
    const { client } = setup();
    await client.processPurchase(purchase);
    const first = await client.confirmPurchase({ idempotencyKey: "k1" });
    expect(first.purchase).toMatchObject({ status: PurchaseStatus.CONFIRMED, totalCents: 155_000n });
    expect(await client.confirmPurchase({ idempotencyKey: "k1" })).toEqual(first);
    expect((await client.processPurchase(purchase)).purchase?.status).toBe(PurchaseStatus.CONFIRMED);
  });

  it("answers FAILED_PRECONDITION with no purchase, or after a cancellation, changing nothing", async () => {
    const { client } = setup();
    expect(await failureOf(client.confirmPurchase({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot confirm purchase "k1": there is none',
    });
    expect((await client.listPurchases({})).purchases).toEqual([]);
    await client.processPurchase(purchase);
    await client.cancelPurchase({ idempotencyKey: "k1" });
    expect(await failureOf(client.confirmPurchase({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot confirm purchase "k1": it is CANCELLED',
    });
    expect((await client.getPurchase({ idempotencyKey: "k1" })).purchase?.status).toBe(PurchaseStatus.CANCELLED);
  });

  it("answers INVALID_ARGUMENT for an empty key", async () => {
    const { client } = setup();
    expect(await failureOf(client.confirmPurchase({ idempotencyKey: "" }))).toEqual({
      code: Code.InvalidArgument,
      message: "idempotency_key: must not be empty",
    });
  });
});

describe("CancelPurchase", () => {
  it("cancels a pending purchase, idempotently", async () => {
    const { client } = setup();
    await client.processPurchase(purchase);
    const first = await client.cancelPurchase({ idempotencyKey: "k1" });
    expect(first.purchase?.status).toBe(PurchaseStatus.CANCELLED);
    expect(await client.cancelPurchase({ idempotencyKey: "k1" })).toEqual(first);
  });

  it("answers FAILED_PRECONDITION after a confirmation, changing nothing", async () => {
    const { client } = setup();
    await client.processPurchase(purchase);
    await client.confirmPurchase({ idempotencyKey: "k1" });
    expect(await failureOf(client.cancelPurchase({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot cancel purchase "k1": it is CONFIRMED, which is final',
    });
    expect((await client.getPurchase({ idempotencyKey: "k1" })).purchase?.status).toBe(PurchaseStatus.CONFIRMED);
  });

  it("succeeds and changes nothing on a REJECTED purchase", async () => {
    const { client } = setup();
    const big = { ...purchase, lines: [{ productId: "mouse", quantity: 11, unitPriceCents: 2_500n }], totalCents: 27_500n };
    await failureOf(client.processPurchase(big));
    expect((await client.cancelPurchase({ idempotencyKey: "k1" })).purchase?.status).toBe(PurchaseStatus.REJECTED);
  });

  it("records a tombstone for an unknown key and rejects an empty key", async () => {
    const { client } = setup();
    expect((await client.cancelPurchase({ idempotencyKey: "new" })).purchase).toMatchObject({ status: PurchaseStatus.VOIDED, totalCents: 0n });
    expect(await failureOf(client.cancelPurchase({ idempotencyKey: "" }))).toEqual({
      code: Code.InvalidArgument,
      message: "idempotency_key: must not be empty",
    });
  });
});

describe("reads", () => {
  it("GetPurchase answers NOT_FOUND for an unknown key and INVALID_ARGUMENT for a bad one", async () => {
    const { client } = setup();
    await expect(client.getPurchase({ idempotencyKey: "nope" })).rejects.toMatchObject({ code: Code.NotFound });
    await expect(client.getPurchase({ idempotencyKey: "" })).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  it("ListPurchases pages by key and rejects bad paging input", async () => {
    const { client } = setup();
    const keys = ["p-03", "p-01", "p-04", "p-02"];
    for (const k of keys) await client.processPurchase({ ...purchase, idempotencyKey: k });
    const p1 = await client.listPurchases({ pageSize: 3 });
    const p2 = await client.listPurchases({ pageSize: 3, pageToken: p1.nextPageToken });
    expect([...p1.purchases, ...p2.purchases].map((p) => p.idempotencyKey)).toEqual(["p-01", "p-02", "p-03", "p-04"]);
    expect(p2.nextPageToken).toBe("");
    await expect(client.listPurchases({ pageSize: -3 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    const e = await failureOf(client.listPurchases({ pageToken: p1.nextPageToken.slice(0, -2) }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.message).toMatch(/^page_token: /);
  });
});
