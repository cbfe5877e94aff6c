import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeSnapshot } from "../system/invariants.js";
import { sendRaw } from "./raw-http.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// Hostile input at the gateway, table-driven: each case gets the right 4xx with a message
// naming what is wrong — never a 5xx — and no money or stock moves anywhere. Each test stands
// alone (run any one with -t). The property-based pass is hostile-gateway-fuzz.e2e.test.ts.
const order = (items: unknown, customerId: unknown = "customer-1") => ({ customerId, items });
const mouse = (quantity: unknown) => [{ productId: "mouse", quantity }];

type Case = {
  name: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  headers?: Record<string, string>;
  status: number;
  mentions: string | RegExp;
};

const CASES: Case[] = [
  { name: "malformed JSON", raw: '{"customerId": "customer-1", "items": [', status: 400, mentions: "body" },
  { name: "JSON that is not an object", raw: "[1,2,3]", status: 400, mentions: "body" },
  {
    name: "wrong content type",
    raw: "customerId=customer-1",
    contentType: "application/x-www-form-urlencoded",
    status: 415,
    mentions: "Content-Type",
  },
  { name: "text/plain JSON", raw: JSON.stringify(order(mouse(1))), contentType: "text/plain", status: 415, mentions: "Content-Type" },
  { name: "missing customerId", body: { items: mouse(1) }, status: 400, mentions: "customerId" },
  { name: "missing items", body: { customerId: "customer-1" }, status: 400, mentions: "items" },
  { name: "extra field", body: { ...order(mouse(1)), coupon: "FREE" }, status: 400, mentions: "coupon" },
  { name: "extra field in an item", body: order([{ productId: "mouse", quantity: 1, price: 0 }]), status: 400, mentions: "items[0].price" },
  { name: "customerId a number", body: order(mouse(1), 42), status: 400, mentions: "customerId" },
  { name: "items an object", body: order({ productId: "mouse" }), status: 400, mentions: "items" },
  { name: "quantity a string", body: order(mouse("2")), status: 400, mentions: "items[0].quantity" },
  { name: "productId null", body: order([{ productId: null, quantity: 1 }]), status: 400, mentions: "items[0].productId" },
  { name: "empty items", body: order([]), status: 400, mentions: "items" },
  { name: "negative quantity", body: order(mouse(-1)), status: 400, mentions: "items[0].quantity" },
  { name: "zero quantity", body: order(mouse(0)), status: 400, mentions: "items[0].quantity" },
  { name: "huge quantity", body: order(mouse(1e15)), status: 400, mentions: "items[0].quantity" },
  { name: "fractional quantity", body: order(mouse(1.5)), status: 400, mentions: "items[0].quantity" },
  {
    name: "10,000 items",
    body: order(Array.from({ length: 10_000 }, () => ({ productId: "mouse", quantity: 1 }))),
    status: 413,
    mentions: "too large",
  },
  { name: "101 items", body: order(Array.from({ length: 101 }, () => ({ productId: "mouse", quantity: 1 }))), status: 400, mentions: "items" },
  { name: "5 MiB body", raw: JSON.stringify({ customerId: "x".repeat(5 * 1024 * 1024), items: mouse(1) }), status: 413, mentions: "too large" },
  { name: "empty customerId", body: order(mouse(1), ""), status: 400, mentions: "customerId" },
  { name: "unicode in customerId", body: order(mouse(1), "cliente-ñandú"), status: 400, mentions: "customerId" },
  { name: "control character in productId", body: order([{ productId: "mou\u0000se", quantity: 1 }]), status: 400, mentions: "items[0].productId" },
  { name: "newline in productId", body: order([{ productId: "mouse\n", quantity: 1 }]), status: 400, mentions: "items[0].productId" },
  { name: "overlong customerId", body: order(mouse(1), "c".repeat(129)), status: 400, mentions: "customerId" },
  {
    name: "overlong Idempotency-Key",
    body: order(mouse(1)),
    headers: { "idempotency-key": "k".repeat(201) },
    status: 400,
    mentions: "Idempotency-Key",
  },
  { name: "Idempotency-Key with spaces", body: order(mouse(1)), headers: { "idempotency-key": "a key" }, status: 400, mentions: "Idempotency-Key" },
  {
    name: "the same product twice over the limit",
    body: order([
      { productId: "mouse", quantity: 6000 },
      { productId: "mouse", quantity: 6000 },
    ]),
    status: 400,
    mentions: "mouse",
  },
  // Well-formed orders that name what does not exist: the saga runs and is compensated (409).
  { name: "unknown product", body: order([{ productId: "unicorn", quantity: 1 }]), status: 409, mentions: "Fallo en el catálogo" },
  { name: "unknown customer", body: order(mouse(1), "customer-404"), status: 409, mentions: "Fallo en el pago" },
];

/** Raw requests no HTTP client library would send. */
type RawCase = { name: string; request: string | Buffer; status: number; mentions: string };
const CLOSE = "Host: 127.0.0.1\r\nConnection: close\r\n";
const post = (headers: string, body: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(`POST /saga HTTP/1.1\r\n${CLOSE}${headers}Content-Length: ${body.length}\r\n\r\n`, "latin1"), Buffer.from(body)]);
const validJson = JSON.stringify(order(mouse(1)));

const RAW_CASES: RawCase[] = [
  { name: "a path escape that does not decode", request: `GET /saga/%E0%A4%A HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "path" },
  { name: "an overlong UTF-8 escape in the path", request: `GET /saga/%C0%AF HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "path" },
  {
    name: "a body that is not the gzip its Content-Encoding says",
    request: post("Content-Type: application/json\r\nContent-Encoding: gzip\r\n", validJson),
    status: 400,
    mentions: "Content-Encoding",
  },
  {
    name: "a body that is not the br its Content-Encoding says",
    request: post("Content-Type: application/json\r\nContent-Encoding: br\r\n", validJson),
    status: 400,
    mentions: "Content-Encoding",
  },
  {
    name: "an unknown Content-Encoding",
    request: post("Content-Type: application/json\r\nContent-Encoding: zstd-ish\r\n", validJson),
    status: 415,
    mentions: "Content-Encoding",
  },
  {
    name: "a JSON charset other than UTF-8",
    request: post("Content-Type: application/json; charset=latin1\r\n", validJson),
    status: 415,
    mentions: "charset",
  },
  { name: "status[]= (an array-style key)", request: `GET /sagas?status[]=RUNNING HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "status[]" },
  { name: "status given twice", request: `GET /sagas?status=RUNNING&status=COMPLETED HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "status" },
  { name: "an object-style key", request: `GET /sagas?pageSize[a]=1 HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "pageSize[a]" },
  { name: "a query escape that does not decode", request: `GET /sagas?status=%ZZ HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "query" },
  { name: "an empty status", request: `GET /sagas?status= HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "status" },
  { name: "a pageSize that is not a plain integer", request: `GET /sagas?pageSize=1e3 HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "pageSize" },
  { name: "a page token that is not one", request: `GET /sagas?pageToken=bm90IG91cnM HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "page_token" },
  {
    name: "a query on POST /saga",
    request: `POST /saga?customerId=customer-1 HTTP/1.1\r\n${CLOSE}Content-Length: 0\r\n\r\n`,
    status: 400,
    mentions: "customerId",
  },
  { name: "NUL in the path", request: `GET /saga/a\u0000b HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "request" },
  { name: "NUL as a path escape", request: `GET /saga/a%00b HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "sagaId" },
  {
    name: "a byte that is not UTF-8 in a JSON string",
    request: post("Content-Type: application/json\r\n", Buffer.from(validJson.replace("customer-1", "customer-\u00ff"), "latin1")),
    status: 400,
    mentions: "customerId",
  },
  {
    name: "a raw NUL in a JSON string",
    request: post("Content-Type: application/json\r\n", validJson.replace("customer-1", "customer\u00001")),
    status: 400,
    mentions: "body",
  },
  { name: "an unknown method", request: `BREW /saga HTTP/1.1\r\n${CLOSE}\r\n`, status: 400, mentions: "method" },
  { name: "a method /saga does not take", request: `DELETE /saga HTTP/1.1\r\n${CLOSE}\r\n`, status: 405, mentions: "method" },
  { name: "CONNECT", request: `CONNECT 127.0.0.1:5000 HTTP/1.1\r\n${CLOSE}\r\n`, status: 405, mentions: "CONNECT" },
  { name: "headers of 20 KiB", request: `GET /healthz HTTP/1.1\r\n${CLOSE}X-Big: ${"b".repeat(20_000)}\r\n\r\n`, status: 431, mentions: "headers" },
  {
    name: "a non-ASCII Idempotency-Key",
    request: post("Content-Type: application/json\r\nIdempotency-Key: cl\u00e9\r\n", validJson),
    status: 400,
    mentions: "Idempotency-Key",
  },
  {
    name: "an Expect the gateway does not know",
    request: post("Content-Type: application/json\r\nExpect: teapot\r\n", validJson),
    status: 417,
    mentions: "Expect",
  },
  {
    name: "Content-Length and Transfer-Encoding together",
    request: post("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", validJson),
    status: 400,
    mentions: "request",
  },
  {
    name: "a Content-Length that is not a number",
    request: `POST /saga HTTP/1.1\r\n${CLOSE}Content-Length: ten\r\n\r\n`,
    status: 400,
    mentions: "request",
  },
  {
    name: "a Content-Length larger than the body (answered after REQUEST_TIMEOUT_MS)",
    request: `POST /saga HTTP/1.1\r\n${CLOSE}Content-Type: application/json\r\nContent-Length: ${validJson.length + 10}\r\n\r\n${validJson}`,
    status: 408,
    mentions: "request",
  },
  {
    name: "gzip that inflates to a bad order",
    request: post("Content-Type: application/json\r\nContent-Encoding: gzip\r\n", gzipSync(JSON.stringify(order(mouse(0))))),
    status: 400,
    mentions: "items[0].quantity",
  },
];

describe("hostile input at the gateway", () => {
  let f: SystemFixture;
  let port: number;
  beforeAll(async () => {
    f = await startFixture({ env: { LOG_LEVEL: "warn" }, envOf: { gateway: { REQUEST_TIMEOUT_MS: "1000" } } });
    port = Number(new URL(f.system.urls.gateway).port);
  }, 120_000);
  afterAll(() => f?.close());

  const sendCase = async (c: Case) => {
    const init: RequestInit = { method: "POST", headers: { "content-type": c.contentType ?? "application/json", ...c.headers } };
    init.body = c.raw ?? JSON.stringify(c.body);
    const res = await fetch(`${f.system.urls.gateway}/saga`, init);
    return { status: res.status, body: (await res.json()) as { error?: string } };
  };
  const mentioning = (text: string) => expect.stringMatching(new RegExp(text.replace(/[[\]().*+?^$|\\]/g, "\\$&")));

  it.each(CASES)("$name → $status", async (c) => {
    const { status, body } = await sendCase(c);
    expect(status).toBe(c.status);
    expect(body.error).toEqual(typeof c.mentions === "string" ? mentioning(c.mentions) : expect.stringMatching(c.mentions));
  });

  it.each(RAW_CASES)("raw: $name → $status", async (c) => {
    const outcome = await sendRaw(port, typeof c.request === "string" ? Buffer.from(c.request, "latin1") : c.request);
    if (!("answer" in outcome)) throw new Error(outcome.none);
    expect(outcome.answer.status).toBe(c.status);
    expect((JSON.parse(outcome.answer.body) as { error?: string }).error).toEqual(mentioning(c.mentions));
  });

  it("refuses a key reused with a different body, and the first saga stands", async () => {
    const first = await f.post("/saga", order(mouse(1)), { "idempotency-key": "hostile-reuse" });
    expect(first.status).toBe(200);
    const reuse = await f.post("/saga", order(mouse(2)), { "idempotency-key": "hostile-reuse" });
    expect(reuse.status).toBe(409);
    expect(reuse.body.error).toContain("hostile-reuse");
    expect((await f.get(`/saga/${first.body.sagaId}`)).body.order.items[0].quantity).toBe(1);
  });

  it("moves no money and no stock, and starts no saga, for any refused input", async () => {
    const sagasBefore = (await f.get("/sagas?pageSize=1000")).body.sagas.length;
    const before = await takeSnapshot(f.system.urls);
    const refused = [...CASES.filter((c) => c.status !== 409), ...RAW_CASES];
    for (const c of refused) {
      const status =
        "request" in c
          ? await sendRaw(port, typeof c.request === "string" ? Buffer.from(c.request, "latin1") : c.request).then((o) =>
              "answer" in o ? o.answer.status : 0,
            )
          : (await sendCase(c)).status;
      expect(status, c.name).toBe(c.status);
    }
    const after = await takeSnapshot(f.system.urls);
    expect(after.totalBalanceCents).toBe(before.totalBalanceCents);
    expect(after.stock).toEqual(before.stock);
    expect((await f.get("/sagas?pageSize=1000")).body.sagas.length).toBe(sagasBefore);
  });
});
