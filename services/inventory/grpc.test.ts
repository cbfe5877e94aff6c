import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_STOCK } from "./demo-data.js";
import { inventoryHandlers } from "./handlers.js";
import { Inventory } from "./inventory.js";
import { SqliteInventoryStore } from "./inventory-store.js";

// The contract tests' handler object on the real grpc-js server (port 0).
let server: GrpcServer;
let store: SqliteInventoryStore;
let client: ServiceClient<typeof InventoryService>;

beforeAll(async () => {
  store = new SqliteInventoryStore(openDatabase(":memory:"));
  store.seedIfEmpty(DEMO_STOCK);
  const handlers = inventoryHandlers(new Inventory(store), DEMO_OFF);
  server = await startGrpcServer({ services: [serve(InventoryService, handlers)], host: "127.0.0.1", port: 0, log: createLogger("test", "silent") });
  client = createServiceClient(InventoryService, server.url, { timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.close();
  store?.close();
});

const codeOf = async (call: Promise<unknown>) => (await failureOf(call)).code;

describe("InventoryService over grpc-js", () => {
  it("reserves and releases stock, and refuses what it must", async () => {
    const take = { idempotencyKey: "wire-1", lines: [{ productId: "monitor", quantity: 3 }] };
    expect((await client.reserveStock(take)).reservation?.status).toBe(ReservationStatus.RESERVED);
    expect((await client.getStock({ productId: "monitor" })).stock).toMatchObject({ quantity: 10_000n, reserved: 3n, available: 9_997n });
    expect((await client.releaseStock({ idempotencyKey: "wire-1" })).reservation?.status).toBe(ReservationStatus.RELEASED);
    expect((await client.getStock({ productId: "monitor" })).stock).toMatchObject({ quantity: 10_000n, reserved: 0n, available: 10_000n });
    expect(await codeOf(client.reserveStock({ idempotencyKey: "wire-2", lines: [{ productId: "webcam", quantity: 1 }] }))).toBe(
      Code.FailedPrecondition,
    );
    expect(await codeOf(client.reserveStock({ idempotencyKey: "wire-3", lines: [{ productId: "tablet", quantity: 1 }] }))).toBe(Code.NotFound);
    expect(await codeOf(client.reserveStock({ ...take, lines: [{ productId: "monitor", quantity: 4 }] }))).toBe(Code.AlreadyExists);
  });

  it("commits: repeats are no-ops, commit after release and release after commit are refused", async () => {
    const lines = [{ productId: "keyboard", quantity: 2 }];
    await client.reserveStock({ idempotencyKey: "keep", lines });
    await client.reserveStock({ idempotencyKey: "undo", lines });
    expect((await client.commitStock({ idempotencyKey: "keep" })).reservation?.status).toBe(ReservationStatus.COMMITTED);
    expect((await client.commitStock({ idempotencyKey: "keep" })).reservation?.status).toBe(ReservationStatus.COMMITTED);
    expect((await client.releaseStock({ idempotencyKey: "undo" })).reservation?.status).toBe(ReservationStatus.RELEASED);
    expect(await codeOf(client.commitStock({ idempotencyKey: "undo" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.releaseStock({ idempotencyKey: "keep" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.commitStock({ idempotencyKey: "never" }))).toBe(Code.FailedPrecondition);
    expect((await client.getStock({ productId: "keyboard" })).stock).toMatchObject({ quantity: 499_998n, reserved: 0n, available: 499_998n });
  });
});
