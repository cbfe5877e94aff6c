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
  const client = createClient(
    InventoryService,
    createRouterTransport((r) => r.service(InventoryService, handlers)),
  );
  return { client, store };
}

const take = { idempotencyKey: "k1", lines: [{ productId: "monitor", quantity: 2 }] };
/** What is available of a product: what another reservation may still take. */
const stockOf = async (client: ReturnType<typeof setup>["client"], productId: string) => (await client.getStock({ productId })).stock?.available;
/** [on hand (quantity), reserved, available] of a product. */
const levelsOf = async (client: ReturnType<typeof setup>["client"], productId: string) => {
  const s = (await client.getStock({ productId })).stock;
  return [s?.quantity, s?.reserved, s?.available];
};

describe("ReserveStock", () => {
  it("reserves the lines, returns the reservation, and a repeat returns the same one", async () => {
    const { client } = setup();
    const { reservation } = await client.reserveStock(take);
    expect(reservation).toMatchObject({ idempotencyKey: "k1", status: ReservationStatus.RESERVED, lines: [{ productId: "monitor", quantity: 2 }] });
    expect(await levelsOf(client, "monitor")).toEqual([10_000n, 2n, 9_998n]);
    expect((await client.reserveStock(take)).reservation).toEqual(reservation);
    expect(await levelsOf(client, "monitor")).toEqual([10_000n, 2n, 9_998n]);
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
    expect(await failureOf(client.reserveStock({ ...take, ...patch }))).toEqual({ code: Code.InvalidArgument, message });
    expect((await client.listReservations({})).reservations).toEqual([]);
    expect(await stockOf(client, "mouse")).toBe(1_000_000n);
  });

  it("accepts 100 lines", async () => {
    const { client } = setup();
    const { reservation } = await client.reserveStock({
      idempotencyKey: "k",
      lines: Array.from({ length: 100 }, () => ({ productId: "mouse", quantity: 1 })),
    });
    expect(reservation?.lines).toHaveLength(100);
    expect(await stockOf(client, "mouse")).toBe(999_900n);
  });

  it("answers NOT_FOUND naming an unknown product, and records nothing", async () => {
    const { client } = setup();
    const e = await failureOf(client.reserveStock({ idempotencyKey: "k1", lines: [{ productId: "tablet", quantity: 1 }] }));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toContain("tablet");
    expect((await client.listReservations({})).reservations).toEqual([]);
  });

  it("answers FAILED_PRECONDITION naming the short product, again on a repeat, all or nothing", async () => {
    const { client } = setup();
    const req = {
      idempotencyKey: "k1",
      lines: [
        { productId: "mouse", quantity: 1 },
        { productId: "webcam", quantity: 1 },
      ],
    };
    const e = await failureOf(client.reserveStock(req));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toContain("webcam");
    expect(await failureOf(client.reserveStock(req))).toEqual(e);
    expect(await stockOf(client, "mouse")).toBe(1_000_000n);
    expect((await client.listReservations({})).reservations[0]?.status).toBe(ReservationStatus.REJECTED);
  });

  it("answers ALREADY_EXISTS when the key is reused with other lines", async () => {
    const { client } = setup();
    await client.reserveStock(take);
    await expect(client.reserveStock({ ...take, lines: [{ productId: "monitor", quantity: 3 }] })).rejects.toMatchObject({
      code: Code.AlreadyExists,
    });
  });

  it("answers FAILED_PRECONDITION when released before it arrived", async () => {
    const { client } = setup();
    await client.releaseStock({ idempotencyKey: "k1" });
    const e = await failureOf(client.reserveStock(take));
    expect(e.code).toBe(Code.FailedPrecondition);
    expect(e.message).toMatch(/cancelled before it arrived/);
    expect(await stockOf(client, "monitor")).toBe(10_000n);
  });

  it("fails at random in demo mode, before anything changes; commits, releases and reads never fail", async () => {
    const { client, store } = setup(createDemoMode({ failureRate: 1, minLatencyMs: 0, maxLatencyMs: 0 }));
    expect(await failureOf(client.reserveStock(take))).toEqual({ code: Code.FailedPrecondition, message: "fallo simulado (modo demo)" });
    expect(await stockOf(client, "monitor")).toBe(10_000n);
    const direct = new Inventory(store);
    await direct.reserve("a", [{ productId: "mouse", quantity: 1 }]);
    await direct.reserve("b", [{ productId: "mouse", quantity: 1 }]);
    expect((await client.commitStock({ idempotencyKey: "a" })).reservation?.status).toBe(ReservationStatus.COMMITTED);
    expect((await client.releaseStock({ idempotencyKey: "b" })).reservation?.status).toBe(ReservationStatus.RELEASED);
    expect((await client.releaseStock({ idempotencyKey: "k1" })).reservation?.status).toBe(ReservationStatus.VOIDED);
    expect(await levelsOf(client, "mouse")).toEqual([999_999n, 0n, 999_999n]);
  });

  it("answers INTERNAL without leaking the cause when the store breaks", async () => {
    const { client, store } = setup();
    store.close();
    expect(await failureOf(client.reserveStock(take))).toEqual({ code: Code.Internal, message: "internal error" });
  });
});

describe("CommitStock", () => {
  it("takes the reserved units out of stock, idempotently", async () => {
    const { client } = setup();
    await client.reserveStock(take);
    const first = await client.commitStock({ idempotencyKey: "k1" });
    expect(first.reservation).toMatchObject({ status: ReservationStatus.COMMITTED, lines: [{ productId: "monitor", quantity: 2 }] });
    expect(await client.commitStock({ idempotencyKey: "k1" })).toEqual(first);
    expect(await levelsOf(client, "monitor")).toEqual([9_998n, 0n, 9_998n]);
  });

  it("answers FAILED_PRECONDITION with no reservation, or after a release, changing nothing", async () => {
    const { client } = setup();
    expect(await failureOf(client.commitStock({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot commit reservation "k1": there is none',
    });
    expect((await client.listReservations({})).reservations).toEqual([]);
    await client.reserveStock(take);
    await client.releaseStock({ idempotencyKey: "k1" });
    expect(await failureOf(client.commitStock({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot commit reservation "k1": it is RELEASED',
    });
    expect(await levelsOf(client, "monitor")).toEqual([10_000n, 0n, 10_000n]);
  });

  it("answers INVALID_ARGUMENT for an empty key", async () => {
    const { client } = setup();
    expect(await failureOf(client.commitStock({ idempotencyKey: "" }))).toEqual({
      code: Code.InvalidArgument,
      message: "idempotency_key: must not be empty",
    });
  });
});

describe("ReleaseStock", () => {
  it("gives the reserved units back, idempotently", async () => {
    const { client } = setup();
    await client.reserveStock(take);
    const first = await client.releaseStock({ idempotencyKey: "k1" });
    expect(first.reservation?.status).toBe(ReservationStatus.RELEASED);
    expect(await client.releaseStock({ idempotencyKey: "k1" })).toEqual(first);
    expect(await levelsOf(client, "monitor")).toEqual([10_000n, 0n, 10_000n]);
  });

  it("answers FAILED_PRECONDITION after a commit, changing nothing", async () => {
    const { client } = setup();
    await client.reserveStock(take);
    await client.commitStock({ idempotencyKey: "k1" });
    expect(await failureOf(client.releaseStock({ idempotencyKey: "k1" }))).toEqual({
      code: Code.FailedPrecondition,
      message: 'cannot release reservation "k1": it is COMMITTED, which is final',
    });
    expect(await levelsOf(client, "monitor")).toEqual([9_998n, 0n, 9_998n]);
  });

  it("succeeds and changes nothing on a REJECTED reservation", async () => {
    const { client } = setup();
    await failureOf(client.reserveStock({ idempotencyKey: "k1", lines: [{ productId: "webcam", quantity: 1 }] }));
    expect((await client.releaseStock({ idempotencyKey: "k1" })).reservation?.status).toBe(ReservationStatus.REJECTED);
  });

  it("records a tombstone for an unknown key and rejects an empty key", async () => {
    const { client } = setup();
    expect((await client.releaseStock({ idempotencyKey: "new" })).reservation).toMatchObject({ status: ReservationStatus.VOIDED, lines: [] });
    expect(await failureOf(client.releaseStock({ idempotencyKey: "" }))).toEqual({
      code: Code.InvalidArgument,
      message: "idempotency_key: must not be empty",
    });
  });
});

describe("reads", () => {
  it("GetStock returns stock, NOT_FOUND for an unknown product, INVALID_ARGUMENT for a bad id", async () => {
    const { client } = setup();
    expect((await client.getStock({ productId: "webcam" })).stock).toMatchObject({ productId: "webcam", quantity: 0n, reserved: 0n, available: 0n });
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
    for (const k of ["c", "a", "e", "b", "d"]) await client.releaseStock({ idempotencyKey: k });
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
