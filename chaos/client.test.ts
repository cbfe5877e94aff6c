import { afterEach, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createPrng } from "./prng.js";
import { runClientSaga } from "./client.js";
import type { PlannedOrder } from "./orders.js";

type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;

/** A fake gateway answering from a script of handlers, one per request. */
async function fakeGateway(
  script: Handler[],
): Promise<{ url: string; seen: { method: string; url: string; key: string | undefined; body: string }[]; close(): Promise<void> }> {
  const seen: { method: string; url: string; key: string | undefined; body: string }[] = [];
  let i = 0;
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (b) => (body += b));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, key: req.headers["idempotency-key"] as string | undefined, body });
      const h = script[Math.min(i++, script.length - 1)]!;
      h(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_q, _b, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
const hangUp: Handler = (req) => req.socket.destroy();

const order: PlannedOrder = { intent: "success", body: { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] } };

describe("chaos client", () => {
  let gw: Awaited<ReturnType<typeof fakeGateway>> | undefined;
  afterEach(async () => gw?.close());
  const options = (url: string) => ({ gatewayUrl: url, deadlineAt: Date.now() + 10_000, random: createPrng(1), requestTimeoutMs: 2_000 });

  it("retries network errors, 5xx and 429 with the same key and body, then records the acknowledgement", async () => {
    gw = await fakeGateway([
      hangUp,
      json(503, { error: "orchestrator unreachable" }),
      json(429, { error: "busy" }, { "retry-after": "0" }),
      json(500, { error: "internal error" }),
      json(200, { mensaje: "Saga completada con éxito", sagaId: "s1", status: "COMPLETED" }),
    ]);
    const r = await runClientSaga("key-1", order, options(gw.url));
    expect(r.ack).toEqual({ httpStatus: 200, sagaId: "s1", status: "COMPLETED" });
    expect(r.retries).toBe(4);
    expect(r.problem).toBeUndefined();
    expect(gw.seen).toHaveLength(5);
    expect(new Set(gw.seen.map((s) => `${s.method} ${s.url} ${s.key} ${s.body}`)).size).toBe(1);
    expect(JSON.parse(gw.seen[0]!.body)).toEqual(order.body);
  });

  it("polls GET /saga/:id after a 202 until the saga is terminal", async () => {
    gw = await fakeGateway([
      json(202, { sagaId: "s/2", status: "RUNNING" }, { location: "/saga/s%2F2" }),
      json(200, { sagaId: "s/2", status: "COMPENSATING" }),
      json(503, { error: "down" }),
      json(200, { sagaId: "s/2", status: "COMPENSATED", failedStep: "take-stock" }),
    ]);
    const r = await runClientSaga("key-2", order, options(gw.url));
    expect(r.ack).toMatchObject({ httpStatus: 202, sagaId: "s/2" });
    expect(r.seen).toEqual({ status: "COMPENSATED", failedStep: "take-stock" });
    expect(r.polls).toBe(3);
    expect(gw.seen.slice(1).every((s) => s.method === "GET" && s.url === "/saga/s%2F2")).toBe(true);
  });

  it("records a 409 with a saga as compensated, and an answer it does not expect as a problem", async () => {
    gw = await fakeGateway([json(409, { error: "Fallo en el pago", sagaId: "s3", status: "COMPENSATED", failedStep: "charge-payment" })]);
    expect((await runClientSaga("key-3", order, options(gw.url))).ack).toMatchObject({ httpStatus: 409, failedStep: "charge-payment" });
    await gw.close();
    gw = await fakeGateway([json(409, { error: "idempotency key reused", code: "ALREADY_EXISTS" })]);
    const r = await runClientSaga("key-4", order, options(gw.url));
    expect(r.ack).toBeUndefined();
    expect(r.problem).toMatch(/unexpected answer 409/);
  });

  it("is bounded: gives up after its attempts, and after its deadline while polling", async () => {
    gw = await fakeGateway([json(503, { error: "down" })]);
    const r = await runClientSaga("key-5", order, { ...options(gw.url), maxAttempts: 3 });
    expect(r.ack).toBeUndefined();
    expect(r.problem).toBe("no acknowledgement after 3 attempts");
    await gw.close();
    gw = await fakeGateway([json(202, { sagaId: "s6", status: "RUNNING" }), json(200, { sagaId: "s6", status: "RUNNING" })]);
    const started = Date.now();
    const p = await runClientSaga("key-6", order, { ...options(gw.url), deadlineAt: Date.now() + 1_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(p.problem).toMatch(/still RUNNING/);
  });

  it("repeats the POST after the outcome when asked, and checks it names the same saga", async () => {
    gw = await fakeGateway([json(200, { sagaId: "s7", status: "COMPLETED" }), json(200, { sagaId: "s7", status: "COMPLETED" })]);
    const r = await runClientSaga("key-7", order, { ...options(gw.url), repeatChance: 1 });
    expect(r.repeat).toEqual({ httpStatus: 200, sameSaga: true, sameStatus: true });
  });

  it("sends a twin of the first POST when asked, and records the saga it named", async () => {
    gw = await fakeGateway([json(200, { sagaId: "s9", status: "COMPLETED" }), json(200, { sagaId: "s9", status: "COMPLETED" })]);
    const r = await runClientSaga("key-9", order, { ...options(gw.url), twinChance: 1 });
    expect(r.twin).toEqual({ httpStatus: 200, sagaId: "s9" });
    expect(gw.seen.map((s) => s.key)).toEqual(["key-9", "key-9"]);
  });

  it("posts no body for the default order", async () => {
    gw = await fakeGateway([json(200, { sagaId: "s8", status: "COMPLETED" })]);
    await runClientSaga("key-8", { intent: "default", body: undefined }, options(gw.url));
    expect(gw.seen[0]).toMatchObject({ method: "POST", body: "", key: "key-8" });
  });
});
