import { request } from "node:http";
import { Code, ConnectError, createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createApp } from "../gateway/app.js";
import { listenHttp, type HttpServer } from "../gateway/http-server.js";
import { inProcessSystem } from "./in-process-system.js";

// The operator API of a real gateway (HTTP on 127.0.0.1, port 0) in front of the real
// orchestrator and services in one process (./in-process-system.ts), with no credential
// configured: loopback clients that ask for a loopback Host are served, as the actor
// "loopback"; a Host of another name (DNS rebinding) is refused. WatchSagas streams through the
// gateway's Connect API.

/** Every payments call fails UNAVAILABLE while `down` is set: a saga's payment outcome is unknown and its void cannot get through. */
let paymentsDown = false;
const payments: Interceptor = (next) => async (req) => {
  if (paymentsDown && req.service.typeName === "saga.payments.v1.PaymentsService")
    throw new ConnectError("payments is down (test)", Code.Unavailable);
  return next(req);
};

/** While set, inventory's ReserveStock waits until the call is cut short: a saga stays RUNNING at its last action. */
let inventoryHeld = false;
const inventory: Interceptor = (next) => async (req) => {
  if (inventoryHeld && req.method.name === "ReserveStock") {
    await new Promise((resolve) => req.signal.addEventListener("abort", resolve, { once: true }));
    throw new ConnectError("cut short (test)", Code.Canceled);
  }
  return next(req);
};

const system = inProcessSystem({ interceptors: [payments, inventory] });
const health = createClient(
  Health,
  createRouterTransport((router) => router.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) })),
);
let http: HttpServer;
const ORDER = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };

const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${http.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const api = () => createClient(OrchestratorService, createConnectTransport({ baseUrl: `${http.url}/api`, httpVersion: "1.1" }));

beforeAll(async () => {
  http = await listenHttp(createApp(system.orchestrator, health), { host: "127.0.0.1", port: 0, requestTimeoutMs: 5_000 });
});
afterAll(async () => {
  await http?.close();
});

describe("operator API without credentials configured", () => {
  it("serves a loopback client as the actor loopback, over REST and Connect", async () => {
    paymentsDown = true;
    const stuck = await Promise.all([1, 2].map(() => system.orchestrator.startSaga({ order: ORDER, waitMs: 10_000 })));
    paymentsDown = false;
    const [viaRest, viaConnect] = stuck.map(({ saga }) => saga!) as [NonNullable<(typeof stuck)[0]["saga"]>, NonNullable<(typeof stuck)[0]["saga"]>];
    expect([viaRest.status, viaConnect.status]).toEqual([SagaStatus.NEEDS_ATTENTION, SagaStatus.NEEDS_ATTENTION]);

    const rest = await post(`/sagas/${viaRest.sagaId}/resolve`, { reason: "voided by hand" });
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({
      status: "RESOLVED",
      operatorActions: [{ kind: "saga-resolved", actor: "loopback", reason: "voided by hand" }],
    });

    const { saga } = await api().retrySaga({ sagaId: viaConnect.sagaId, reason: "payments is back" });
    expect(saga?.operatorActions.map((action) => [action.kind, action.actor])).toEqual([["saga-retried", "loopback"]]);
    const done = await system.orchestrator.getSaga({ sagaId: viaConnect.sagaId });
    expect([SagaStatus.COMPENSATING, SagaStatus.COMPENSATED]).toContain(done.saga?.status);
  });

  it("forces the compensation of a RUNNING saga over REST, recording who and why", async () => {
    inventoryHeld = true;
    try {
      const { saga } = await system.orchestrator.startSaga({ order: ORDER, waitMs: 0 });
      const sagaId = saga!.sagaId;
      expect(saga!.status).toBe(SagaStatus.RUNNING);
      const forced = await post(`/sagas/${sagaId}/force-compensate`, { reason: "customer cancelled by phone" });
      expect(forced.status).toBe(200);
      expect(forced.body).toMatchObject({
        status: "COMPENSATING",
        operatorActions: [{ kind: "saga-compensation-forced", actor: "loopback", reason: "customer cancelled by phone" }],
      });
      const settled = await system.runner.wait(sagaId, 10_000, "terminal");
      expect(settled?.status).toBe("COMPENSATED");
      expect((await post(`/sagas/${sagaId}/force-compensate`, { reason: "again" })).status).toBe(409);
    } finally {
      inventoryHeld = false;
    }
  });

  it("refuses a loopback client that asks for another Host (a page of another site resolved to 127.0.0.1)", async () => {
    // fetch will not set Host; node:http will.
    const { port } = new URL(http.url);
    const refused = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const body = JSON.stringify({ reason: "x" });
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/sagas/any/resolve",
          headers: { host: `evil.example:${port}`, "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/loopback clients only/);
  });

  it("answers 400 naming the field, 404, 409 and 415 past the authentication", async () => {
    const { saga } = await system.orchestrator.startSaga({ order: ORDER, waitMs: 10_000 });
    expect((await post(`/sagas/${saga!.sagaId}/retry`, {})).body.error).toMatch(/^reason: required/);
    expect((await post("/sagas/no-such-saga/retry", { reason: "x" })).status).toBe(404);
    expect((await post(`/sagas/${saga!.sagaId}/resolve`, { reason: "x" })).status).toBe(409);
    const text = await fetch(`${http.url}/sagas/${saga!.sagaId}/retry`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "reason",
    });
    expect(text.status).toBe(415);
    const get = await fetch(`${http.url}/sagas/${saga!.sagaId}/retry`);
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
    const unknown = await fetch(`${http.url}/api/saga.orchestrator.v1.OrchestratorService/Nope`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error).toMatch(/^not found: \/api serves/);
  });

  it("streams saga events through the gateway (WatchSagas) as sagas move", async () => {
    const abort = new AbortController();
    const events: string[] = [];
    const watching = (async () => {
      try {
        for await (const { event } of api().watchSagas({}, { signal: abort.signal })) {
          events.push(`${event?.sagaId} ${event?.kind}`);
          if (event?.kind === "saga-completed") break;
        }
      } catch (err) {
        if (!abort.signal.aborted) throw err;
      }
    })();
    // The stream is open once the gateway forwards it; sagas started until an event arrives (bounded).
    for (let i = 0; i < 20 && events.length === 0; i++) {
      await system.orchestrator.startSaga({ order: ORDER, waitMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await Promise.race([watching, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    abort.abort();
    expect(events.some((event) => event.endsWith(" saga-completed"))).toBe(true);
  });
});
