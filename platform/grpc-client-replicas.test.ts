import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { startGrpcServer, type GrpcServer } from "./grpc-server.js";
import { createServiceClient, type ServiceClient } from "./grpc-client.js";
import { createLogger } from "./logger.js";
import { parsePeerAddresses } from "./peer-addresses.js";
import { paymentsTestService } from "../test/payments-test-service.js";

// Two (or three) real servers of one service on port 0, each counting the calls it answers.
const log = createLogger("test", "silent");
let servers: GrpcServer[] = [];
let clients: ServiceClient<typeof PaymentsService>[] = [];

async function replica(calls: string[]): Promise<GrpcServer> {
  const handlers = paymentsTestService({
    authorizePayment(req) {
      calls.push(req.idempotencyKey);
      return { payment: { idempotencyKey: req.idempotencyKey, customerId: req.customerId, status: PaymentStatus.AUTHORIZED } };
    },
    capturePayment: (req) => ({ payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.CAPTURED } }),
    voidPayment: (req) => ({ payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.VOIDED } }),
    getAccount: (req) => {
      calls.push(`account:${req.customerId}`);
      return {};
    },
  });
  // A grace of 1 ms: close() cuts the connections at once, as a dead process would.
  const server = await startGrpcServer({ services: [handlers], port: 0, log, shutdownGraceMs: 1 });
  servers.push(server);
  return server;
}

function client(urls: readonly string[], exchange: boolean): ServiceClient<typeof PaymentsService> {
  const c = createServiceClient(PaymentsService, urls.join(","), { exchange, waitForReady: true, timeoutMs: 5_000 });
  clients.push(c);
  return c;
}

/** Calls authorizePayment `count` times one after the other; every call must succeed. */
async function authorize(c: ServiceClient<typeof PaymentsService>, prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await c.authorizePayment({ idempotencyKey: `${prefix}-${i}`, customerId: "customer-1", amountCents: 100n });
    expect(res.payment?.idempotencyKey).toBe(`${prefix}-${i}`);
  }
}

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  clients = [];
});

describe.each([
  ["unary calls (grpc-js round_robin)", false],
  ["Exchange calls (one stream per replica)", true],
])("%s over two replicas", (_name, exchange) => {
  it("reach both replicas, and go on on the survivor when one dies", async () => {
    const a: string[] = [];
    const b: string[] = [];
    const [ra, rb] = [await replica(a), await replica(b)];
    const c = client([ra.url, rb.url], exchange);
    // The first calls may all go to whichever replica connects first; within a bounded number
    // of calls both are connected and each gets its share.
    for (let round = 0; round < 50 && (a.length < 5 || b.length < 5); round++) await authorize(c, `warm-${round}`, 10);
    expect(a.length).toBeGreaterThanOrEqual(5);
    expect(b.length).toBeGreaterThanOrEqual(5);

    await rb.close();
    const before = { a: a.length, b: b.length };
    await authorize(c, "after", 40);
    expect(a.length - before.a).toBe(40);
    expect(b.length).toBe(before.b);
  }, 30_000);
});

describe("a dead replica at start", () => {
  it("is skipped: every Exchange call is answered by the live one", async () => {
    const a: string[] = [];
    const dead = await replica([]);
    await dead.close();
    const live = await replica(a);
    const c = client([dead.url, live.url], true);
    await authorize(c, "k", 30);
    expect(a.length).toBe(30);
  }, 30_000);
});

describe("a replica that comes back", () => {
  it("gets calls again", async () => {
    const a: string[] = [];
    const b: string[] = [];
    const ra = await replica(a);
    const rb = await replica(b);
    const port = rb.port;
    const c = client([ra.url, rb.url], true);
    await authorize(c, "one", 10);
    await rb.close();
    await authorize(c, "two", 10);
    const back: string[] = [];
    const handlers = await startGrpcServer({
      services: [
        paymentsTestService({
          authorizePayment(req) {
            back.push(req.idempotencyKey);
            return { payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.AUTHORIZED } };
          },
        }),
      ],
      port,
      log,
      shutdownGraceMs: 1,
    });
    servers.push(handlers);
    // grpc-js reconnects with backoff (1 s at first): bounded by count and time.
    const until = Date.now() + 20_000;
    for (let round = 0; back.length === 0 && Date.now() < until; round++) {
      await authorize(c, `three-${round}`, 5);
      await sleep(100);
    }
    expect(back.length).toBeGreaterThan(0);
  }, 30_000);
});

describe("parsePeerAddresses", () => {
  it("keeps one URL as a host:port target, resolved by DNS; balanced only when it is a name that may resolve to several", () => {
    expect(parsePeerAddresses("http://127.0.0.1:5002")).toEqual({
      scheme: "http",
      target: "127.0.0.1:5002",
      addresses: ["127.0.0.1:5002"],
      balance: false,
    });
    expect(parsePeerAddresses("http://localhost:5002").balance).toBe(false);
    expect(parsePeerAddresses(" http://payments:5002 ")).toEqual({
      scheme: "http",
      target: "payments:5002",
      addresses: ["payments:5002"],
      balance: true,
    });
    expect(parsePeerAddresses("https://payments:5002").scheme).toBe("https");
  });

  it("turns several IP URLs into one ipv4: or ipv6: target", () => {
    expect(parsePeerAddresses("http://127.0.0.1:5002, http://127.0.0.2:5012")).toEqual({
      scheme: "http",
      target: "ipv4:127.0.0.1:5002,127.0.0.2:5012",
      addresses: ["127.0.0.1:5002", "127.0.0.2:5012"],
      balance: true,
    });
    expect(parsePeerAddresses("http://[::1]:5002,http://[::1]:5012").target).toBe("ipv6:[::1]:5002,[::1]:5012");
  });

  it.each([
    ["", /is empty/],
    ["http://127.0.0.1:5002,", /entry 2 .* is empty/],
    ["127.0.0.1:5002", /http:\/\//],
    ["grpc://127.0.0.1:5002", /must start with http:\/\//],
    ["http://127.0.0.1:5002,https://127.0.0.2:5002", /must all be http:\/\/ or all https:\/\//],
    ["http://127.0.0.1", /has no port/],
    ["http://127.0.0.1:5002/x", /only http:\/\/host:port/],
    ["http://u:p@127.0.0.1:5002", /only http:\/\/host:port/],
    ["http://a:5002,http://b:5002", /must be IP addresses/],
    ["http://127.0.0.1:5002,http://[::1]:5002", /all IPv4 or all IPv6/],
  ])("refuses %j", (value, message) => {
    expect(() => parsePeerAddresses(value)).toThrow(message);
  });
});
