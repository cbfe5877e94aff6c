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
  it("authorizes once, refuses a reused key, a late authorization and insufficient funds", async () => {
    const req = { idempotencyKey: "wire-1", customerId: "customer-1", amountCents: 300_000n };
    expect((await client.authorizePayment(req)).payment?.status).toBe(PaymentStatus.AUTHORIZED);
    expect((await client.authorizePayment(req)).payment?.status).toBe(PaymentStatus.AUTHORIZED);
    expect((await client.getAccount({ customerId: "customer-1" })).account).toMatchObject({
      balanceCents: 1_000_000_000n,
      heldCents: 300_000n,
      availableCents: 999_700_000n,
    });
    expect(await codeOf(client.authorizePayment({ ...req, amountCents: 1n }))).toBe(Code.AlreadyExists);
    await client.voidPayment({ idempotencyKey: "wire-2" });
    expect(await codeOf(client.authorizePayment({ ...req, idempotencyKey: "wire-2" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.authorizePayment({ ...req, idempotencyKey: "wire-3", customerId: "customer-3" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.authorizePayment({ ...req, idempotencyKey: "wire-4", customerId: "nobody" }))).toBe(Code.NotFound);
    expect(await codeOf(client.authorizePayment({ ...req, idempotencyKey: "" }))).toBe(Code.InvalidArgument);
  });

  it("captures and voids: repeats are no-ops, capture after void and void after capture are refused", async () => {
    const base = { customerId: "customer-2", amountCents: 1_000n };
    await client.authorizePayment({ ...base, idempotencyKey: "cap" });
    await client.authorizePayment({ ...base, idempotencyKey: "void" });
    expect((await client.capturePayment({ idempotencyKey: "cap" })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await client.capturePayment({ idempotencyKey: "cap" })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await client.voidPayment({ idempotencyKey: "void" })).payment?.status).toBe(PaymentStatus.VOIDED);
    expect((await client.voidPayment({ idempotencyKey: "void" })).payment?.status).toBe(PaymentStatus.VOIDED);
    expect(await codeOf(client.capturePayment({ idempotencyKey: "void" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.voidPayment({ idempotencyKey: "cap" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(client.capturePayment({ idempotencyKey: "never" }))).toBe(Code.FailedPrecondition);
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({
      balanceCents: 499_000n,
      heldCents: 0n,
      availableCents: 499_000n,
    });
  });
});
