import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { readFileSync } from "node:fs";
import { connect } from "node:tls";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { readIdentity } from "#platform/tls-files.js";
import { makeTestCertificates, type TestCertificates } from "#platform/test-certificates.js";
import { ApiKeyRing } from "../gateway/api-keys.js";
import { createApp } from "../gateway/app.js";
import { listenHttp, type HttpServer } from "../gateway/http-server.js";
import { parseRateLimit } from "../gateway/rate-limit.js";
import { sagaAccess } from "../gateway/saga-access.js";
import { inProcessSystem, type InProcessSystem } from "./in-process-system.js";

const CI_KEY = "ci-0123456789abcdef";
const SHOP_KEY = "shop-fedcba9876543210";
const ORDER = JSON.stringify({ customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] });

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: { error?: string; mensaje?: string; sagaId?: string };
}

// The gateway's real app and HTTPS server over the real order saga in one process; the
// orchestrator's health is always SERVING here.
let pki: TestCertificates;
let system: InProcessSystem;
let gateway: HttpServer;
let now = 0;
let ca: Buffer;

beforeAll(async () => {
  pki = await makeTestCertificates();
  ca = readFileSync(pki.caCert);
  system = inProcessSystem();
  const health = createClient(
    Health,
    createRouterTransport((r) => r.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) })),
  );
  const keys = ApiKeyRing.parse("SAGA_API_KEYS", `ci:${CI_KEY},shop:${SHOP_KEY}`);
  // 2 sagas at once per key, then one a minute: the clock is the test's, so Retry-After is exact.
  const rateLimit = parseRateLimit("SAGA_RATE_LIMIT", "1/min", "SAGA_RATE_BURST", "2");
  const app = createApp(system.orchestrator, health, { waitMs: 5_000, sagaAccess: sagaAccess({ keys, rateLimit, now: () => now }) });
  const tls = readIdentity({ variable: "HTTPS_CERT", path: pki.serverCert }, { variable: "HTTPS_KEY", path: pki.serverKey });
  gateway = await listenHttp(app, { host: "127.0.0.1", port: 0, requestTimeoutMs: 10_000, tls });
});

afterAll(async () => {
  await gateway?.close();
  await system?.runner.close();
  pki?.remove();
});

function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${gateway.url}${path}`,
      { method, ca, headers: body === undefined ? headers : { "content-type": "application/json", ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error("no answer in 20 s")));
    req.on("error", reject);
    req.end(body);
  });
}

async function sagaCount(): Promise<number> {
  return (await system.orchestrator.listSagas({ pageSize: 1000 })).sagas.length;
}

describe("the gateway over HTTPS", () => {
  it("serves HTTPS with its certificate, verified against the CA for 127.0.0.1", async () => {
    expect(gateway.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await send("GET", "/healthz")).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await send("GET", "/readyz")).toMatchObject({ status: 200 });
  });

  it("is refused by a client that does not trust the CA", async () => {
    const refused = new Promise((resolve, reject) => {
      const req = httpsRequest(`${gateway.url}/healthz`, (res) => reject(new Error(`answered ${res.statusCode}`)));
      req.on("error", resolve);
      req.end();
    });
    expect(await refused).toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("answers a request it cannot parse with a JSON 400 over TLS too, as over HTTP", async () => {
    const { port } = new URL(gateway.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: Number(port), ca, servername: "localhost" }, () => {
        socket.end("GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: yes\r\n\r\n");
      });
      let text = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.setTimeout(10_000, () => socket.destroy(new Error("no answer in 10 s")));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toContain('{"error":"request: not valid HTTP/1.1');
  });

  it("does not answer plain HTTP", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(gateway.url.replace("https:", "http:") + "/healthz", (res) => resolve(`answered ${res.statusCode}`));
      req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
      req.end();
    });
    expect(outcome).not.toMatch(/^answered/);
  });
});

describe("API keys for POST /saga", () => {
  it("401 without a key, naming how to give one, and starts nothing", async () => {
    const before = await sagaCount();
    const answer = await send("POST", "/saga", {}, ORDER);
    expect(answer.status).toBe(401);
    expect(answer.headers["www-authenticate"]).toMatch(/^Bearer /);
    expect(answer.body.error).toContain("Authorization: Bearer <key> or X-Api-Key: <key>");
    expect((await send("POST", "/saga", { authorization: `Basic ${CI_KEY}` }, ORDER)).status).toBe(401);
    expect(await sagaCount()).toBe(before);
  });

  it("403 with a key that is not configured, and starts nothing", async () => {
    const before = await sagaCount();
    expect(await send("POST", "/saga", { authorization: `Bearer ${CI_KEY}x` }, ORDER)).toMatchObject({
      status: 403,
      body: { error: "the API key is not valid" },
    });
    expect((await send("POST", "/saga", { "x-api-key": "not-a-configured-key" }, ORDER)).status).toBe(403);
    expect(await sagaCount()).toBe(before);
  });

  it("a configured key passes, as Bearer or X-Api-Key, and only POST /saga asks for one", async () => {
    now = 0;
    expect(await send("POST", "/saga", { authorization: `Bearer ${SHOP_KEY}` }, ORDER)).toMatchObject({
      status: 200,
      body: { mensaje: "Saga completada con éxito" },
    });
    expect((await send("POST", "/saga", { "x-api-key": SHOP_KEY })).status).toBe(200);
    expect((await send("GET", "/sagas")).status).toBe(200);
  });
});

describe("the per-key rate limit", () => {
  it("429 with Retry-After in seconds once a key's burst is spent; the wait it names is enough", async () => {
    now = 10 * 60_000;
    expect((await send("POST", "/saga", { "x-api-key": CI_KEY }, ORDER)).status).toBe(200);
    expect((await send("POST", "/saga", { "x-api-key": CI_KEY }, ORDER)).status).toBe(200);
    const before = await sagaCount();
    const limited = await send("POST", "/saga", { "x-api-key": CI_KEY }, ORDER);
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("60");
    expect(limited.body.error).toContain("rate limit of API key ci");
    expect(await sagaCount()).toBe(before);

    now += 45_000;
    expect((await send("POST", "/saga", { "x-api-key": CI_KEY }, ORDER)).headers["retry-after"]).toBe("15");
    // Another key has its own bucket.
    expect((await send("POST", "/saga", { "x-api-key": SHOP_KEY }, ORDER)).status).toBe(200);
    now += 15_000;
    expect((await send("POST", "/saga", { "x-api-key": CI_KEY }, ORDER)).status).toBe(200);
    expect((await send("POST", "/saga", { "x-api-key": CI_KEY }, ORDER)).status).toBe(429);
  });

  it("checks the key before the rate: a wrong key is 403 even when the limit is spent", async () => {
    expect((await send("POST", "/saga", { "x-api-key": `${CI_KEY}-wrong` }, ORDER)).status).toBe(403);
  });
});
