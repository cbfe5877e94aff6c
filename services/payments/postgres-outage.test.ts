import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PaymentStatus, PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openPostgresPool } from "#platform/postgres.js";
import { createTestDatabase, type TestDatabase } from "#platform/postgres-test-database.js";
import { startRelay, type Relay } from "#platform/postgres-test-relay.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { paymentsHandlers } from "./handlers.js";
import { Payments } from "./payments.js";
import { PostgresPaymentStore } from "./postgres-payment-store.js";

// The payments service reaches its database through a TCP relay that the test cuts: every
// connection is dropped and new ones are refused for a while, as in a server restart.

let database: TestDatabase;
let relay: Relay;
let store: PostgresPaymentStore;
let server: GrpcServer;
let client: ServiceClient<typeof PaymentsService>;
const retries: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase("payments_outage");
  relay = await startRelay(database.url);
  store = await PostgresPaymentStore.open(await openPostgresPool({ connectionString: relay.url, maxConnections: 4 }), {
    onRetry: ({ error }) => retries.push(error.message),
  });
  await store.seedIfEmpty(DEMO_ACCOUNTS);
  server = await startGrpcServer({
    services: [serve(PaymentsService, paymentsHandlers(new Payments(store), DEMO_OFF))],
    host: "127.0.0.1",
    port: 0,
    log: createLogger("test", "silent"),
  });
  client = createServiceClient(PaymentsService, server.url, { timeoutMs: 30_000 });
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.close();
  await store?.close();
  await relay?.close();
  await database?.drop();
});

describe("payments while its PostgreSQL is cut for a moment", () => {
  it("holds the writes sent during the cut and answers them once it is back (each once); a read during the cut answers UNAVAILABLE", async () => {
    await client.authorizePayment({ idempotencyKey: "before", customerId: "customer-2", amountCents: 100n });
    relay.cut();
    const writes = Array.from({ length: 20 }, (_, i) =>
      client.authorizePayment({ idempotencyKey: `during-${i}`, customerId: "customer-2", amountCents: 100n }),
    );
    const read = await client.getAccount({ customerId: "customer-2" }).catch((e: unknown) => ConnectError.from(e));
    expect(read).toBeInstanceOf(ConnectError);
    expect((read as ConnectError).code).toBe(Code.Unavailable);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    relay.restore();
    const answers = await Promise.all(writes);
    expect(answers.every((a) => a.payment?.status === PaymentStatus.AUTHORIZED)).toBe(true);
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({ balanceCents: 500_000n, heldCents: 2_100n });
    expect((await client.listPayments({ pageSize: 100 })).payments).toHaveLength(21);
  }, 60_000);
});
