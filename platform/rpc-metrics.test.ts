import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { parseExposition } from "../test/prometheus-scrape.js";
import { createServiceClient, type ServiceClient } from "./grpc-client.js";
import { startGrpcServer, type GrpcServer } from "./grpc-server.js";
import { createLogger } from "./logger.js";
import { metricsRegistry } from "./metrics-registry.js";
import { failureOf } from "./rpc-errors.js";
import { paymentsTestService } from "../test/payments-test-service.js";

// Real servers on port 0 and real clients in this process: both ends record into the process's
// registry, server and client under their own names. Each test reads the change it made.
const handlers = paymentsTestService({
  async authorizePayment(req) {
    if (req.customerId === "declined") throw new ConnectError("insufficient funds", Code.FailedPrecondition);
    if (req.customerId === "slow") await sleep(2_000);
    return { payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.AUTHORIZED } };
  },
});

const log = createLogger("test", "silent");
let servers: GrpcServer[] = [];
let clients: ServiceClient<typeof PaymentsService>[] = [];
afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  clients = [];
});

async function system(exchange: boolean): Promise<{ server: GrpcServer; client: ServiceClient<typeof PaymentsService> }> {
  const server = await startGrpcServer({ services: [handlers], port: 0, log, shutdownGraceMs: 100 });
  servers.push(server);
  const client = createServiceClient(PaymentsService, server.url, { exchange });
  clients.push(client);
  return { server, client };
}

async function handled(side: "server" | "client", wire: string, method: string, code: string): Promise<number> {
  const labels = { grpc_service: "saga.payments.v1.PaymentsService", grpc_method: method, wire, grpc_code: code };
  return parseExposition(await metricsRegistry.metrics()).value(`grpc_${side}_handled_total`, labels) ?? 0;
}

describe("call metrics", () => {
  it.each([["exchange"], ["unary"]] as const)("on the %s wire, both ends count each call by method and code", async (wire) => {
    const { client } = await system(wire === "exchange");
    const before = {
      serverOk: await handled("server", wire, "AuthorizePayment", "OK"),
      clientOk: await handled("client", wire, "AuthorizePayment", "OK"),
      serverRefused: await handled("server", wire, "AuthorizePayment", "FAILED_PRECONDITION"),
      clientRefused: await handled("client", wire, "AuthorizePayment", "FAILED_PRECONDITION"),
    };
    await client.authorizePayment({ idempotencyKey: "k1", customerId: "c", amountCents: 1n });
    await client.authorizePayment({ idempotencyKey: "k2", customerId: "c", amountCents: 1n });
    expect((await failureOf(client.authorizePayment({ idempotencyKey: "k3", customerId: "declined", amountCents: 1n }))).code).toBe(
      Code.FailedPrecondition,
    );
    expect(await handled("server", wire, "AuthorizePayment", "OK")).toBe(before.serverOk + 2);
    expect(await handled("client", wire, "AuthorizePayment", "OK")).toBe(before.clientOk + 2);
    expect(await handled("server", wire, "AuthorizePayment", "FAILED_PRECONDITION")).toBe(before.serverRefused + 1);
    expect(await handled("client", wire, "AuthorizePayment", "FAILED_PRECONDITION")).toBe(before.clientRefused + 1);
  });

  it("an Exchange call past its deadline counts DEADLINE_EXCEEDED at the client, and one cut by a lost stream UNAVAILABLE", async () => {
    const { server, client } = await system(true);
    const timedOut = await handled("client", "exchange", "AuthorizePayment", "DEADLINE_EXCEEDED");
    const unavailable = await handled("client", "exchange", "AuthorizePayment", "UNAVAILABLE");
    const slow = { idempotencyKey: "s", customerId: "slow", amountCents: 1n };
    expect((await failureOf(client.authorizePayment(slow, { timeoutMs: 50 }))).code).toBe(Code.DeadlineExceeded);
    expect(await handled("client", "exchange", "AuthorizePayment", "DEADLINE_EXCEEDED")).toBe(timedOut + 1);
    const cut = failureOf(client.authorizePayment(slow, { timeoutMs: 10_000 }));
    await sleep(100);
    await server.close(); // a grace of 100 ms, then the stream is cut under the call
    expect((await cut).code).toBe(Code.Unavailable);
    expect(await handled("client", "exchange", "AuthorizePayment", "UNAVAILABLE")).toBe(unavailable + 1);
  });
});
