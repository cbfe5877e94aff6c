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
  it("confirms a purchase, enforces the unit limit and the cancelled-first tombstone", async () => {
    const line = { productId: "mouse", quantity: 1, unitPriceCents: 2_500n };
    const ok = await client.processPurchase({ idempotencyKey: "wire-1", customerId: "customer-1", lines: [line], totalCents: 2_500n });
    expect(ok.purchase?.status).toBe(PurchaseStatus.CONFIRMED);
    const big = { idempotencyKey: "wire-2", customerId: "customer-1", lines: [{ ...line, quantity: 11 }], totalCents: 27_500n };
    expect(await codeOf(client.processPurchase(big))).toBe(Code.FailedPrecondition);
    await client.cancelPurchase({ idempotencyKey: "wire-3" });
    expect(await codeOf(client.processPurchase({ ...big, idempotencyKey: "wire-3", lines: [line], totalCents: 2_500n }))).toBe(
      Code.FailedPrecondition,
    );
    expect(await codeOf(client.processPurchase({ ...big, idempotencyKey: "wire-1" }))).toBe(Code.AlreadyExists);
  });
});
