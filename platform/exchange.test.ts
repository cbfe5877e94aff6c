import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import * as grpc from "@grpc/grpc-js";
import { grpcDefinition, startGrpcServer, type GrpcServer } from "./grpc-server.js";
import { createServiceClient, type ServiceClient } from "./grpc-client.js";
import { exchangeShape, MAX_CALLS_PER_MESSAGE } from "./exchange-shape.js";
import { createLogger } from "./logger.js";
import { paymentsTestService } from "../test/payments-test-service.js";

// Handlers whose behaviour the customer id picks: "wait-<ms>" answers after ms, "declined"
// fails FAILED_PRECONDITION, "bug" throws a plain Error, "hang" never answers.
const seen: string[] = [];
const handlers = paymentsTestService({
  async authorizePayment(req) {
    seen.push(req.idempotencyKey);
    const wait = /^wait-(\d+)$/.exec(req.customerId);
    if (wait) await sleep(Number(wait[1]));
    if (req.customerId === "declined") throw new ConnectError("insufficient funds", Code.FailedPrecondition);
    if (req.customerId === "bug") throw new Error("a bug");
    if (req.customerId === "hang") await new Promise(() => {});
    return {
      payment: { idempotencyKey: req.idempotencyKey, customerId: req.customerId, amountCents: req.amountCents, status: PaymentStatus.AUTHORIZED },
    };
  },
  capturePayment(req) {
    return { payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.CAPTURED } };
  },
  voidPayment(req) {
    return { payment: { idempotencyKey: req.idempotencyKey, status: PaymentStatus.VOIDED } };
  },
});

const log = createLogger("test", "silent");
let servers: GrpcServer[] = [];
let clients: ServiceClient<typeof PaymentsService>[] = [];

async function start(port = 0): Promise<GrpcServer> {
  const server = await startGrpcServer({ services: [handlers], port, log, shutdownGraceMs: 2_000 });
  servers.push(server);
  return server;
}

function client(
  url: string,
  options: { timeoutMs?: number; waitForReady?: boolean; keepaliveMs?: number } = {},
): ServiceClient<typeof PaymentsService> {
  const c = createServiceClient(PaymentsService, url, { ...options, exchange: true });
  clients.push(c);
  return c;
}

/**
 * A TCP relay to `port` whose open connections can be turned into a black hole: bytes are
 * swallowed both ways and nothing is closed, as when a peer host vanishes without a reset.
 * New connections relay normally.
 */
async function relay(port: number): Promise<{ url: string; connections: () => number; blackhole: () => void; close: () => void }> {
  const open = new Set<{ dead: boolean; sockets: net.Socket[] }>();
  let count = 0;
  const server = net.createServer((inbound) => {
    count++;
    const outbound = net.connect(port, "127.0.0.1");
    const link = { dead: false, sockets: [inbound, outbound] };
    open.add(link);
    inbound.on("data", (b) => void (link.dead || outbound.write(b)));
    outbound.on("data", (b) => void (link.dead || inbound.write(b)));
    for (const s of link.sockets) s.on("error", () => {}).on("close", () => link.sockets.forEach((x) => x.destroy()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => count,
    blackhole: () => open.forEach((l) => (l.dead = true)),
    close: () => {
      open.forEach((l) => l.sockets.forEach((s) => s.destroy()));
      server.close();
    },
  };
}

afterEach(async () => {
  for (const c of clients) c.close();
  await Promise.all(servers.map((s) => s.close()));
  clients = [];
  servers = [];
  seen.length = 0;
});

describe("Exchange: unary calls multiplexed on one stream", () => {
  it("reads the call/result convention from the generated descriptors", () => {
    const shape = exchangeShape(PaymentsService)!;
    expect([...shape.calls.keys()]).toEqual(["authorizePayment", "capturePayment", "voidPayment"]);
    expect(exchangeShape(Health)).toBeUndefined();
  });

  it("answers many concurrent calls, each with its own result, in the order they finish", async () => {
    const server = await start();
    const c = client(server.url);
    const finished: number[] = [];
    const calls = [40, 0, 20, 10].map((ms, i) =>
      c.authorizePayment({ idempotencyKey: `k${i}`, customerId: `wait-${ms}`, amountCents: BigInt(i + 1) }).then((res) => {
        finished.push(i);
        return res;
      }),
    );
    const results = await Promise.all(calls);
    expect(results.map((r) => [r.payment?.idempotencyKey, r.payment?.amountCents])).toEqual([
      ["k0", 1n],
      ["k1", 2n],
      ["k2", 3n],
      ["k3", 4n],
    ]);
    expect(finished).toEqual([1, 3, 2, 0]);
    expect((await c.capturePayment({ idempotencyKey: "k0" })).payment?.status).toBe(PaymentStatus.CAPTURED);
    expect((await c.voidPayment({ idempotencyKey: "k1" })).payment?.status).toBe(PaymentStatus.VOIDED);
  });

  it("carries each call's error code and message, and the stream goes on", async () => {
    const server = await start();
    const c = client(server.url);
    await expect(c.authorizePayment({ idempotencyKey: "a", customerId: "declined", amountCents: 1n })).rejects.toMatchObject({
      code: Code.FailedPrecondition,
      rawMessage: "insufficient funds",
    });
    await expect(c.authorizePayment({ idempotencyKey: "b", customerId: "bug", amountCents: 1n })).rejects.toMatchObject({
      code: Code.Internal,
      rawMessage: "internal error",
    });
    await expect(c.authorizePayment({ idempotencyKey: "c", customerId: "ok", amountCents: 1n })).resolves.toBeDefined();
  });

  it("gives each call its own deadline; a late answer is dropped", async () => {
    const server = await start();
    const c = client(server.url, { timeoutMs: 50 });
    await expect(c.authorizePayment({ idempotencyKey: "slow", customerId: "wait-150", amountCents: 1n })).rejects.toMatchObject({
      code: Code.DeadlineExceeded,
    });
    const fast = await c.authorizePayment({ idempotencyKey: "fast", customerId: "ok", amountCents: 1n });
    expect(fast.payment?.idempotencyKey).toBe("fast");
    await sleep(150); // the late answer to "slow" arrives now and must not disturb anything
    expect((await c.authorizePayment({ idempotencyKey: "after", customerId: "ok", amountCents: 1n })).payment?.idempotencyKey).toBe("after");
  });

  it("rejects an aborted call with CANCELED", async () => {
    const server = await start();
    const c = client(server.url);
    const abort = new AbortController();
    const call = c.authorizePayment({ idempotencyKey: "x", customerId: "hang", amountCents: 1n }, { signal: abort.signal });
    abort.abort();
    await expect(call).rejects.toMatchObject({ code: Code.Canceled });
  });

  it("fails the calls in flight UNAVAILABLE when the connection breaks, and opens a new stream after a restart", async () => {
    const server = await start();
    const c = client(server.url, { waitForReady: true, timeoutMs: 5_000 });
    await c.authorizePayment({ idempotencyKey: "warm", customerId: "ok", amountCents: 1n });
    const inFlight = c.authorizePayment({ idempotencyKey: "lost", customerId: "hang", amountCents: 1n });
    await sleep(20);
    const closing = server.close(); // drains: "hang" never finishes, so the grace period ends it by force
    await expect(inFlight).rejects.toMatchObject({ code: Code.Unavailable });
    await closing;
    const again = await start(server.port);
    expect(again.port).toBe(server.port);
    const res = await c.authorizePayment({ idempotencyKey: "again", customerId: "ok", amountCents: 1n });
    expect(res.payment?.idempotencyKey).toBe("again");
  });

  it("on a graceful close, answers what is in flight, then ends the stream", async () => {
    const server = await start();
    const c = client(server.url);
    const slow = c.authorizePayment({ idempotencyKey: "finishing", customerId: "wait-300", amountCents: 1n });
    // Close once the call is in the handler (a fixed sleep raced the connection on a loaded machine).
    for (let i = 0; i < 500 && seen.length === 0; i++) await sleep(5);
    await server.close();
    expect((await slow).payment?.idempotencyKey).toBe("finishing");
    expect(seen).toEqual(["finishing"]);
  });

  it("leaves a dead connection once its keepalive ping goes unanswered, and carries on over a new one", async () => {
    const server = await start();
    const link = await relay(server.port);
    try {
      const c = client(link.url, { timeoutMs: 300, keepaliveMs: 300 });
      await c.authorizePayment({ idempotencyKey: "before", customerId: "ok", amountCents: 1n });
      link.blackhole();
      await expect(c.authorizePayment({ idempotencyKey: "swallowed", customerId: "ok", amountCents: 1n })).rejects.toBeInstanceOf(ConnectError);
      let answered: string | undefined;
      for (let i = 0; i < 20 && answered === undefined; i++) {
        answered = await c.authorizePayment({ idempotencyKey: `after-${i}`, customerId: "ok", amountCents: 1n }).then(
          (r) => r.payment?.idempotencyKey,
          () => undefined,
        );
      }
      expect(answered).toMatch(/^after-/);
      expect(link.connections()).toBe(2);
    } finally {
      link.close();
    }
  });

  it("sends the calls made in one turn as one message, and a lone call alone", async () => {
    const perMessage: number[] = [];
    const raw = new grpc.Server();
    raw.addService(grpcDefinition(PaymentsService), {
      exchange(stream: grpc.ServerDuplexStream<{ calls: { callId: number }[] }, unknown>) {
        stream.on("data", ({ calls }: { calls: { callId: number }[] }) => {
          perMessage.push(calls.length);
          stream.write({
            answers: calls.map(({ callId }) => ({
              callId,
              errorCode: 0,
              result: { case: "authorizePayment", value: { payment: { idempotencyKey: `k${callId}` } } },
            })),
          });
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      raw.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    try {
      const c = client(`http://127.0.0.1:${port}`);
      const five = await Promise.all([0, 1, 2, 3, 4].map((i) => c.authorizePayment({ idempotencyKey: `k${i}`, customerId: "ok", amountCents: 1n })));
      expect(five.map((r) => r.payment?.idempotencyKey)).toEqual(["k0", "k1", "k2", "k3", "k4"]);
      await c.authorizePayment({ idempotencyKey: "k5", customerId: "ok", amountCents: 1n });
      expect(perMessage).toEqual([5, 1]);
      // A turn with more calls than a message holds sends several messages.
      await Promise.all(Array.from({ length: 300 }, (_, i) => c.authorizePayment({ idempotencyKey: `m${i}`, customerId: "ok", amountCents: 1n })));
      expect(perMessage.slice(2)).toEqual([MAX_CALLS_PER_MESSAGE, 300 - MAX_CALLS_PER_MESSAGE]);
    } finally {
      raw.forceShutdown();
    }
  });

  it("answers the calls that finish in one turn in one message", async () => {
    const server = await start();
    const Raw = grpc.makeGenericClientConstructor(grpcDefinition(PaymentsService), "PaymentsService");
    const raw = new Raw(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as {
      exchange(): grpc.ClientDuplexStream<unknown, { answers: { callId: number; errorCode: number }[] }>;
      close(): void;
    };
    const stream = raw.exchange();
    const responses: { callId: number; errorCode: number }[][] = [];
    stream.on("data", (response) => responses.push(response.answers));
    // capturePayment answers at once, so all three are ready in the turn that received them.
    stream.write({ calls: [1, 2, 3].map((callId) => ({ callId, call: { case: "capturePayment", value: { idempotencyKey: `c${callId}` } } })) });
    while (responses.length < 1) await sleep(5);
    expect(responses).toEqual([
      [expect.objectContaining({ callId: 1, errorCode: 0 }), expect.objectContaining({ callId: 2 }), expect.objectContaining({ callId: 3 })],
    ]);
    // More answers ready in one turn than a message holds leave in several messages.
    stream.write({
      calls: Array.from({ length: 300 }, (_, i) => ({ callId: 10 + i, call: { case: "capturePayment", value: { idempotencyKey: `d${i}` } } })),
    });
    while (responses.flat().length < 303) await sleep(5);
    expect(responses.slice(1).map((answers) => answers.length)).toEqual([MAX_CALLS_PER_MESSAGE, 300 - MAX_CALLS_PER_MESSAGE]);
    stream.end();
    raw.close();
  });

  it("answers a request that names no call INVALID_ARGUMENT, in-band, and the stream goes on", async () => {
    const server = await start();
    const Raw = grpc.makeGenericClientConstructor(grpcDefinition(PaymentsService), "PaymentsService");
    const raw = new Raw(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as unknown as {
      exchange(): grpc.ClientDuplexStream<unknown, { answers: { callId: number; errorCode: number; errorMessage: string }[] }>;
      close(): void;
    };
    const stream = raw.exchange();
    const answers: { callId: number; errorCode: number; errorMessage: string }[] = [];
    stream.on("data", (response) => answers.push(...response.answers));
    stream.write({ calls: [{ callId: 5 }, { callId: 6, call: { case: "voidPayment", value: { idempotencyKey: "k" } } }] });
    while (answers.length < 2) await sleep(5);
    expect(answers.find((a) => a.callId === 5)).toMatchObject({
      errorCode: Code.InvalidArgument,
      errorMessage: expect.stringContaining("call: not set"),
    });
    expect(answers.find((a) => a.callId === 6)).toMatchObject({ errorCode: 0 });
    stream.end();
    raw.close();
  });
});
