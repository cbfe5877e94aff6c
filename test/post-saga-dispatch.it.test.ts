import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { createApp } from "../gateway/app.js";
import { listenHttp, type HttpServer } from "../gateway/http-server.js";
import { inProcessSystem, type InProcessSystem } from "./in-process-system.js";
import { sendRaw } from "./raw-http.js";

// POST /saga is served without Express for /saga and /saga?…, and through Express for the other
// spellings its router takes for /saga: both ways reach the same endpoint and answer alike, and
// what Express never took for /saga is still not taken. The real app over the real order saga in
// one process; answers read as raw bytes, so the headers are the ones on the wire.
let system: InProcessSystem;
let gateway: HttpServer;
let port: number;

beforeAll(async () => {
  system = inProcessSystem();
  const health = createClient(
    Health,
    createRouterTransport((r) => r.service(Health, { check: () => ({ status: HealthCheckResponse_ServingStatus.SERVING }) })),
  );
  gateway = await listenHttp(createApp(system.orchestrator, health, { waitMs: 5_000 }), { host: "127.0.0.1", port: 0, requestTimeoutMs: 5_000 });
  port = Number(new URL(gateway.url).port);
});

afterAll(async () => {
  await gateway?.close();
  await system?.runner.close();
});

const ORDER = JSON.stringify({ customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] });

async function post(target: string, headers: string[] = ["Content-Type: application/json"], body: Buffer | string = ORDER) {
  const bytes = Buffer.from(body);
  const head = [`POST ${target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...headers, `Content-Length: ${bytes.length}`];
  const outcome = await sendRaw(port, Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), bytes]));
  if (!("answer" in outcome)) throw new Error(outcome.none);
  const { status, headers: answerHeaders, body: text } = outcome.answer;
  return { status, headers: answerHeaders, body: JSON.parse(text) as { error?: string; mensaje?: string; sagaId?: string } };
}

describe("POST /saga, however its path is spelt", () => {
  it("starts a saga for /saga, and for the spellings Express's router takes for it, with the same answer", async () => {
    for (const target of ["/saga", "/saga?", "/SAGA", "/Saga/", "/saga/", "http://127.0.0.1/saga"]) {
      const answer = await post(target);
      expect(answer.status, target).toBe(200);
      expect(answer.body, target).toMatchObject({ mensaje: "Saga completada con éxito", sagaId: expect.any(String) });
      expect(answer.headers.get("content-type"), target).toBe("application/json; charset=utf-8");
      expect(Number(answer.headers.get("content-length")), target).toBe(Buffer.byteLength(JSON.stringify(answer.body)));
    }
  });

  it("refuses a query string either way, naming the parameter", async () => {
    for (const target of ["/saga?customerId=customer-1", "/SAGA?customerId=customer-1"]) {
      expect(await post(target), target).toMatchObject({ status: 400, body: { error: expect.stringContaining("customerId") } });
    }
  });

  it("leaves to Express what it never took for /saga: other paths 404, other methods 405", async () => {
    for (const target of ["/sagax", "/saga.json", "//saga", "/saga%2F"]) expect((await post(target)).status, target).toBe(404);
    const outcome = await sendRaw(port, Buffer.from("GET /saga HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    expect("answer" in outcome && outcome.answer.status).toBe(405);
  });

  it("reads a gzip body and refuses a body too large, on the path served without Express", async () => {
    expect((await post("/saga", ["Content-Type: application/json", "Content-Encoding: gzip"], gzipSync(ORDER))).status).toBe(200);
    const large = JSON.stringify({ customerId: "x".repeat(70 * 1024), items: [] });
    expect(await post("/saga", ["Content-Type: application/json"], large)).toMatchObject({ status: 413, body: { error: "body: too large" } });
  });

  it("takes no body as the seed's default order", async () => {
    expect(await post("/saga", [], "")).toMatchObject({ status: 200, body: { mensaje: "Saga completada con éxito" } });
  });
});
