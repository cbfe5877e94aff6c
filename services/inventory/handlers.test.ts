import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { createDemoMode, DEMO_OFF, type DemoMode } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_STOCK } from "./demo-data.js";
import { inventoryHandlers } from "./handlers.js";
import { Inventory } from "./inventory.js";
import { SqliteInventoryStore } from "./inventory-store.js";

function setup(demo: DemoMode = DEMO_OFF) {
  const store = new SqliteInventoryStore(openDatabase(":memory:"));
  store.seedIfEmpty(DEMO_STOCK);
  const handlers = inventoryHandlers(new Inventory(store), demo);
  const client = createClient(InventoryService, createRouterTransport((r) => r.service(InventoryService, handlers)));
  return { client, store };
}

const take = { idempotencyKey: "k1", lines: [{ productId: "monitor", quantity: 2 }] };
const stockOf = async (client: ReturnType<typeof setup>["client"], productId: string) =>
  (await client.getStock({ productId })).stock?.quantity;

describe("UpdateInventory", () => {
  it("takes the lines and returns the reservation", async () => {
    const { client } = setup();
    const { reservation } = await client.updateInventory(take);
    expect(reservation).toMatchObject({ idempotencyKey: "k1", status: ReservationStatus.TAKEN, lines: [{ productId: "monitor", quantity: 2 }] });
    expect(await stockOf(client, "monitor")).toBe(9_998n);
    expect((await client.updateInventory(take)).reservation).toEqual(reservation);
    expect(await stockOf(client, "monitor")).toBe(9_998n);
  });

  const line = (i: number) => ({ productId: "mouse", quantity: i + 1 });
  it.each([
    [{ idempotencyKey: "" }, "idempotency_key: must not be empty"],
    [{ idempotencyKey: "k\u0000" }, "idempotency_key: must be printable ASCII without spaces"],
    [{ lines: [] }, "lines: must not be empty"],
    [{ lines: Array.from({ length: 101 }, (_, i) => line(i % 5)) }, "lines: must have at most 100 lines"],
    [{ lines: [line(0), { productId: "", quantity: 1 }] }, "lines[1].product_id: must not be empty"],
    [{ lines: [line(0), line(1), { productId: "mouse", quantity: 0 }] }, "lines[2].quantity: must be between 1 and 10000"],
    [{ lines: [{ productId: "mouse", quantity: 10_001 }] }, "lines[0].quantity: must be between 1 and 10000"],
    [{ lines: [{ productId: "mouse", quantity: -1 }] }, "lines[0].quantity: must be between 1 and 10000"],
  ])("rejects %o with INVALID_ARGUMENT and changes nothing", async (patch, message) => {
    const { client } = setup();
    expect(await failureOf(client.updateInventory({ ...take, ...patch }))).toEqual({ code: Code.InvalidArgument, message });
    expect((await client.listReservations({})).reservations).toEqual([]);
    expect(await stockOf(client, "mouse")).toBe(1_000_000n);
  });

  it("accepts 100 lines", async () => {
    const { client } = setup();
    const { reservation } = await client.updateInventory({ idempotencyKey: "k", lines: Array.from({ length: 100 }, () => ({ productId: "mouse", quantity: 1 })) });
    expect(reservation?.lines).toHaveLength(100);
    expect(await stockOf(client, "mouse")).toBe(999_900n);
  });

  it("answers NOT_FOUND naming an unknown product, and records nothing", async () => {
    const { client } = setup();
    const e = await failureOf(client.updateInventory({ idempotencyKey: "k1", lines: [{ productId: "tablet", quantity: 1 }] }));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toContain("tablet");
    expect((await client.listReservations({})).reservations).toEqual([]);
  });

  it("answers FAILED_PRECONDITION naming the short product, again on a repeat, all or nothing", async () => {
    const { client } = setup();
    const req = { idempotencyKey: "k1", lines: [{ productId: "mouse", quantity: 1 }, { productId: "webcam", quantity: 1 }] };
    const e = await failureOf(client.updateInventory(req));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toContain("webcam");
    expect(await failureOf(client.updateInventory(req))).toEqual(e);
    expect(await stockOf(client, "mouse")).toBe(1_000_000n);
    expect((await client.listReservations({})).reservations[0]?.status).toBe(ReservationStatus.REJECTED);
  });

  it("answers ALREADY_EXISTS when the key is reused with other lines", async () => {
    const { client } = setup();
    await client.updateInventory(take);
    await expect(client.updateInventory({ ...take, lines: [{ productId: "monitor", quantity: 3 }] })).rejects.toMatchObject({
      code: Code.AlreadyExists,
    });
  });

  it("answers FAILED_PRECONDITION when restored before it arrived", async () => {
    const { client } = setup();
    await client.restoreInventory({ idempotencyKey: "k1" });
    const e = await failureOf(client.updateInventory(take));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toMatch(/cancelled before it arrived/);
    expect(await stockOf(client, "monitor")).toBe(10_000n);
  });

  it("fails at random in demo mode, before anything changes", async () => {
    const { client } = setup(createDemoMode({ failureRate: 1, minLatencyMs: 0, maxLatencyMs: 0 }));
    expect(await failureOf(client.updateInventory(take))).toEqual({ code: Code.FailedPrecondition, message: "fallo simulado (modo demo)" });
    expect(await stockOf(client, "monitor")).toBe(10_000n);
    expect((await client.restoreInventory({ idempotencyKey: "k1" })).reservation?.status).toBe(ReservationStatus.VOIDED);
  });

  it("answers INTERNAL without leaking the cause when the store breaks", async () => {
    const { client, store } = setup();
    store.close();
    expect(await failureOf(client.updateInventory(take))).toEqual({ code: Code.Internal, message: "internal error" });
  });
});

describe("RestoreInventory", () => {
  it("puts the stock back, idempotently", async () => {
    const { client } = setup();
    await client.updateInventory(take);
    const first = await client.restoreInventory({ idempotencyKey: "k1" });
    expect(first.reservation?.status).toBe(ReservationStatus.RESTORED);
    expect(await client.restoreInventory({ idempotencyKey: "k1" })).toEqual(first);
    expect(await stockOf(client, "monitor")).toBe(10_000n);
  });

  it("records a tombstone for an unknown key and rejects an empty key", async () => {
    const { client } = setup();
    expect((await client.restoreInventory({ idempotencyKey: "new" })).reservation).toMatchObject({ status: ReservationStatus.VOIDED, lines: [] });
    expect(await failureOf(client.restoreInventory({ idempotencyKey: "" }))).toEqual({ code: Code.InvalidArgument, message: "idempotency_key: must not be empty" });
  });
});

describe("reads", () => {
  it("GetStock returns stock, NOT_FOUND for an unknown product, INVALID_ARGUMENT for a bad id", async () => {
    const { client } = setup();
    expect((await client.getStock({ productId: "webcam" })).stock).toMatchObject({ productId: "webcam", quantity: 0n });
    await expect(client.getStock({ productId: "tablet" })).rejects.toMatchObject({ code: Code.NotFound });
    expect(await failureOf(client.getStock({ productId: "x".repeat(129) }))).toEqual({
      code: Code.InvalidArgument,
      message: "product_id: must be at most 128 characters",
    });
  });

  it("ListStock returns every product ordered by product_id", async () => {
    const { client } = setup();
    const { stock } = await client.listStock({});
    expect(stock.map((s) => [s.productId, s.quantity])).toEqual([
      ["keyboard", 500_000n],
      ["monitor", 10_000n],
      ["mouse", 1_000_000n],
      ["notebook", 100_000n],
      ["webcam", 0n],
    ]);
  });

  it("ListReservations pages by key and rejects bad paging input", async () => {
    const { client } = setup();
    for (const k of ["c", "a", "e", "b", "d"]) await client.restoreInventory({ idempotencyKey: k });
    const p1 = await client.listReservations({ pageSize: 2 });
    const p2 = await client.listReservations({ pageSize: 2, pageToken: p1.nextPageToken });
    const p3 = await client.listReservations({ pageSize: 2, pageToken: p2.nextPageToken });
    expect([p1, p2, p3].flatMap((p) => p.reservations.map((r) => r.idempotencyKey))).toEqual(["a", "b", "c", "d", "e"]);
    expect(p3.nextPageToken).toBe("");
    await expect(client.listReservations({ pageSize: 1001 })).rejects.toMatchObject({ code: Code.InvalidArgument });
    const e = await failureOf(client.listReservations({ pageToken: "%%%" }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.message).toMatch(/^page_token: /);
  });
});
