import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentStatus, PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { paymentsHandlers } from "./handlers.js";
import { SqlitePaymentStore } from "./payment-store.js";
import { Payments } from "./payments.js";

// The contract tests' handler object on the real grpc-js server (port 0): codes and int64
// values must come through the wire unchanged.
let server: GrpcServer;
let store: SqlitePaymentStore;
let client: ServiceClient<typeof PaymentsService>;

beforeAll(async () => {
  store = new SqlitePaymentStore(openDatabase(":memory:"));
  store.seedIfEmpty(DEMO_ACCOUNTS);
  const handlers = paymentsHandlers(new Payments(store), DEMO_OFF);
  server = await startGrpcServer({ services: [serve(PaymentsService, handlers)], host: "127.0.0.1", port: 0, log: createLogger("test", "silent") });
  client = createServiceClient(PaymentsService, server.url, { timeoutMs: 5_000 });
});

afterAll(async () => {
  client?.close();
  await server?.close();
  store?.close();
});

const codeOf = async (call: Promise<unknown>) => (await failureOf(call)).code;

describe("PaymentsService over grpc-js", () => {
  it("charges once, refuses a reused key, a late charge and insufficient funds", async () => {
    const req = { idempotencyKey: "wire-1", customerId: "customer-1", amountCents: 300_000n };
    expect((await client.processPayment(req)).payment?.status).toBe(PaymentStatus.CHARGED);
    expect((await client.processPayment(req)).payment?.status).toBe(PaymentStatus.CHARGED);
    expect((await client.getAccount({ customerId: "customer-1" })).account?.balanceCents).toBe(999_700_000n);
    expect(await codeOf(client.processPayment({ ...req, amountCents: 1n }))).toBe(Code.AlreadyExists);
    await client.cancelPayment({ idempotencyKey: "wire-2" });
    expect(await codeOf(client.processPayment({ ...req, idempotencyKey: "wire-2" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.processPayment({ ...req, idempotencyKey: "wire-3", customerId: "customer-3" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.processPayment({ ...req, idempotencyKey: "wire-4", customerId: "nobody" }))).toBe(Code.NotFound);
    expect(await codeOf(client.processPayment({ ...req, idempotencyKey: "" }))).toBe(Code.InvalidArgument);
  });
});
