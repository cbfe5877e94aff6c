import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PurchaseStatus, PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openDatabase } from "#platform/sqlite.js";
import { purchasesHandlers } from "./handlers.js";
import { SqlitePurchaseStore } from "./purchase-store.js";
import { Purchases } from "./purchases.js";

// The contract tests' handler object on the real grpc-js server (port 0).
let server: GrpcServer;
let store: SqlitePurchaseStore;
let client: ServiceClient<typeof PurchasesService>;

beforeAll(async () => {
  store = new SqlitePurchaseStore(openDatabase(":memory:"));
  const handlers = purchasesHandlers(new Purchases(store), DEMO_OFF);
  server = await startGrpcServer({ services: [serve(PurchasesService, handlers)], host: "127.0.0.1", port: 0, log: createLogger("test", "silent") });
  client = createServiceClient(PurchasesService, server.url, { timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.close();
  store?.close();
});

const codeOf = async (call: Promise<unknown>) => (await failureOf(call)).code;

describe("PurchasesService over grpc-js", () => {
  const line = { productId: "mouse", quantity: 1, unitPriceCents: 2_500n };
  const order = (idempotencyKey: string, quantity = 1) => ({
    idempotencyKey,
    customerId: "customer-1",
    lines: [{ ...line, quantity }],
    totalCents: 2_500n * BigInt(quantity),
  });

  it("records a pending purchase, enforces the unit limit and the cancelled-first tombstone", async () => {
    expect((await client.processPurchase(order("wire-1"))).purchase?.status).toBe(PurchaseStatus.PENDING);
    expect(await codeOf(client.processPurchase(order("wire-2", 11)))).toBe(Code.FailedPrecondition);
    await client.cancelPurchase({ idempotencyKey: "wire-3" });
    expect(await codeOf(client.processPurchase(order("wire-3")))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.processPurchase(order("wire-1", 11)))).toBe(Code.AlreadyExists);
  });

  it("confirms and cancels: repeats are no-ops, confirm after cancel and cancel after confirm are refused", async () => {
    await client.processPurchase(order("ok"));
    await client.processPurchase(order("undo"));
    expect((await client.confirmPurchase({ idempotencyKey: "ok" })).purchase?.status).toBe(PurchaseStatus.CONFIRMED);
    expect((await client.confirmPurchase({ idempotencyKey: "ok" })).purchase?.status).toBe(PurchaseStatus.CONFIRMED);
    expect((await client.cancelPurchase({ idempotencyKey: "undo" })).purchase?.status).toBe(PurchaseStatus.CANCELLED);
    expect((await client.cancelPurchase({ idempotencyKey: "undo" })).purchase?.status).toBe(PurchaseStatus.CANCELLED);
    expect(await codeOf(client.confirmPurchase({ idempotencyKey: "undo" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.cancelPurchase({ idempotencyKey: "ok" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.confirmPurchase({ idempotencyKey: "never" }))).toBe(Code.FailedPrecondition);
  });
});
