import { Code, ConnectError } from "@connectrpc/connect";
import { beforeEach, describe, expect, it } from "vitest";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { serviceReplicasOnOneDatabase } from "#platform/service-stores-for-tests.js";
import { inventoryHandlers } from "./handlers.js";
import { Inventory } from "./inventory.js";
import { PostgresInventoryStore } from "./postgres-inventory-store.js";

// Two replicas of the inventory service (two stores, each with its own pool, each behind its
// own gRPC server on port 0) on one PostgreSQL database: they must behave as one service.
const retries: string[] = [];
const replicas = serviceReplicasOnOneDatabase({
  service: InventoryService,
  databasePrefix: "inventory_replicas",
  openStore: (pool) => PostgresInventoryStore.open(pool, { onRetry: ({ error }) => retries.push(error.message) }),
  handlers: (store) => inventoryHandlers(new Inventory(store), DEMO_OFF),
  clientTimeoutMs: 30_000,
});

const A = () => replicas.client(0);
const B = () => replicas.client(1);

/** Stock starts afresh for each test: 1,000 mice, 1,000 keyboards, 10 monitors. */
beforeEach(() =>
  replicas.runStatements(
    "TRUNCATE stock, reservations",
    "INSERT INTO stock (product_id, on_hand) VALUES ('mouse', 1000), ('keyboard', 1000), ('monitor', 10)",
  ),
);

const stock = async (productId: string) => (await B().getStock({ productId })).stock!;
const reservations = async () => (await A().listReservations({ pageSize: 1000 })).reservations;

describe("two inventory replicas on one database", () => {
  it("the same reservation sent to both at once takes stock once, and commits once", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `same-${i}`);
    const lines = [
      { productId: "mouse", quantity: 2 },
      { productId: "keyboard", quantity: 1 },
    ];
    const answers = await Promise.all(keys.flatMap((key) => [A(), B(), A(), B()].map((c) => c.reserveStock({ idempotencyKey: key, lines }))));
    expect(answers.every((a) => a.reservation?.status === ReservationStatus.RESERVED)).toBe(true);
    expect(await stock("mouse")).toMatchObject({ quantity: 1000n, reserved: 80n });
    expect(await stock("keyboard")).toMatchObject({ quantity: 1000n, reserved: 40n });

    const committed = await Promise.all(keys.flatMap((key) => [A().commitStock({ idempotencyKey: key }), B().commitStock({ idempotencyKey: key })]));
    expect(committed.every((a) => a.reservation?.status === ReservationStatus.COMMITTED)).toBe(true);
    expect(await stock("mouse")).toMatchObject({ quantity: 920n, reserved: 0n });
    expect(await stock("keyboard")).toMatchObject({ quantity: 960n, reserved: 0n });
    expect(await reservations()).toHaveLength(40);
  });

  it("reservations naming two products in opposite orders on the two replicas all land, without a deadlock", async () => {
    // Replica A reads mouse then keyboard, B keyboard then mouse: B's batches meet keyboard before
    // mouse, against the lock order; they only try the lock that comes first in the order, and
    // start again with both locked in order when A holds it. No batch waits in a cycle.
    const forward = [
      { productId: "mouse", quantity: 1 },
      { productId: "keyboard", quantity: 1 },
    ];
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => [
        A().reserveStock({ idempotencyKey: `a-${i}`, lines: forward }),
        B().reserveStock({ idempotencyKey: `b-${i}`, lines: [...forward].reverse() }),
      ]).flat(),
    );
    expect(answers.every((a) => a.reservation?.status === ReservationStatus.RESERVED)).toBe(true);
    expect(await stock("mouse")).toMatchObject({ quantity: 1000n, reserved: 80n });
    expect(await stock("keyboard")).toMatchObject({ quantity: 1000n, reserved: 80n });
    expect(retries.filter((r) => r.includes("deadlock"))).toEqual([]);
  });

  it("a release on one replica racing the late reservation on the other ends as on one service: nothing stays reserved", async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    const outcomes = await Promise.all(
      keys.map(async (key, i) => {
        const [first, second] = i % 2 === 0 ? [A(), B()] : [B(), A()];
        const reserve = first
          .reserveStock({ idempotencyKey: key, lines: [{ productId: "mouse", quantity: 1 }] })
          .then(() => undefined)
          .catch((err: unknown) => ConnectError.from(err).code);
        const release = second.releaseStock({ idempotencyKey: key });
        const [refused, released] = await Promise.all([reserve, release]);
        return { key, refused, released: released.reservation!.status };
      }),
    );
    const byKey = new Map((await reservations()).map((r) => [r.idempotencyKey, r.status]));
    for (const o of outcomes) {
      if (o.released === ReservationStatus.VOIDED) {
        expect(byKey.get(o.key)).toBe(ReservationStatus.VOIDED);
        expect(o.refused).toBe(Code.FailedPrecondition);
      } else {
        expect(o.released).toBe(ReservationStatus.RELEASED);
        expect(byKey.get(o.key)).toBe(ReservationStatus.RELEASED);
      }
    }
    expect(await stock("mouse")).toMatchObject({ quantity: 1000n, reserved: 0n });
  });

  it("reservations of one product on both replicas at once never oversell", async () => {
    // 10 monitors: 30 reservations of one, 15 on each replica, can reserve exactly 10.
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? A() : B())
          .reserveStock({ idempotencyKey: `monitor-${i}`, lines: [{ productId: "monitor", quantity: 1 }] })
          .then(() => "reserved" as const)
          .catch((err: unknown) =>
            ConnectError.from(err).code === Code.FailedPrecondition ? ("rejected" as const) : ConnectError.from(err).message,
          ),
      ),
    );
    expect(results.filter((r) => r !== "reserved" && r !== "rejected")).toEqual([]);
    expect(results.filter((r) => r === "reserved")).toHaveLength(10);
    expect(await stock("monitor")).toMatchObject({ quantity: 10n, reserved: 10n, available: 0n });
    const statuses = (await reservations()).map((r) => r.status);
    expect(statuses.filter((s) => s === ReservationStatus.RESERVED)).toHaveLength(10);
    expect(statuses.filter((s) => s === ReservationStatus.REJECTED)).toHaveLength(20);
  });
});
