import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { sendRaw, type RawOutcome } from "./raw-http.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// Property-based hostile input at a real gateway (six real processes): paths, query strings,
// headers and bodies drawn at random and sent as raw bytes. Whatever comes in, the gateway
// answers (no hang, no dropped connection), never with a 5xx, every 4xx carries
// {"error": …}, and no saga exists that its client was not told about. Bounded in runs and
// time; a failure prints fast-check's seed and the shrunk request, and the seed replays it.

/** Runs and time per property: enough to meet every generator, bounded for `npm test`. */
const RUNS = 150;
const TIME_LIMIT_MS = 40_000;
/** The gateway waits this long for a body that never comes (a Content-Length too large), then answers 408. */
const REQUEST_TIMEOUT_MS = 1_000;

/** A request as raw parts: each part is bytes, so anything can be put anywhere. */
interface FuzzRequest {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body: Buffer;
  /** Added to the body's true length in Content-Length (negative: shorter). */
  lengthSkew: number;
  chunked: boolean;
}

const latin1 = (text: string) => Buffer.from(text, "latin1");

function bytesOf(r: FuzzRequest): Buffer {
  const head = [`${r.method} ${r.target} HTTP/1.1`, "Host: 127.0.0.1", "Connection: close", ...r.headers.map(([k, v]) => `${k}: ${v}`)];
  if (r.chunked) {
    head.push("Transfer-Encoding: chunked");
    const chunk = r.body.length > 0 ? Buffer.concat([latin1(`${r.body.length.toString(16)}\r\n`), r.body, latin1("\r\n")]) : Buffer.alloc(0);
    return Buffer.concat([latin1(`${head.join("\r\n")}\r\n\r\n`), chunk, latin1("0\r\n\r\n")]);
  }
  if (r.body.length > 0 || r.lengthSkew !== 0) head.push(`Content-Length: ${Math.max(0, r.body.length + r.lengthSkew)}`);
  return Buffer.concat([latin1(`${head.join("\r\n")}\r\n\r\n`), r.body]);
}

const show = (r: FuzzRequest) => JSON.stringify(bytesOf(r).toString("latin1").slice(0, 600));

const VALID_ORDER = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };
const validBody = () => Buffer.from(JSON.stringify(VALID_ORDER));
const validRequest = (): FuzzRequest => ({
  method: "POST",
  target: "/saga",
  headers: [["Content-Type", "application/json"]],
  body: validBody(),
  lengthSkew: 0,
  chunked: false,
});

// ---- pieces of requests ----------------------------------------------------------------

const word = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/);
const hex = (b: number) => `%${b.toString(16).padStart(2, "0").toUpperCase()}`;
/** Percent-escapes, valid and not: truncated, non-hex, overlong, surrogates, NUL, lone high bytes. */
const escapes = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 255 }).map(hex),
      fc.constantFrom("%", "%z", "%zz", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%00", "%FF", "%F4%90%80%80"),
    ),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((parts) => parts.join(""));
/** Raw bytes, including NUL, controls, spaces and bytes that are not UTF-8. */
const rawBytes = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => Buffer.from(b).toString("latin1"));
const absurd = fc.integer({ min: 2_000, max: 12_000 }).map((n) => "a".repeat(n));
const segment = fc.oneof(
  { arbitrary: word, weight: 3 },
  { arbitrary: escapes, weight: 3 },
  { arbitrary: rawBytes, weight: 1 },
  { arbitrary: absurd, weight: 1 },
);

const path = fc.oneof(
  fc.constantFrom("/saga", "/saga/", "/sagas", "/healthz", "/readyz", "/", "//saga", "/SAGA", "/saga/..", "/saga/./x", "*", "/saga/a/b"),
  fc.tuple(fc.constantFrom("/saga/", "/sagas/", "/", "/saga"), segment).map(([a, b]) => a + b),
);

const queryKey = fc.oneof(
  fc.constantFrom(
    "status",
    "status[]",
    "status[0]",
    "status[a]",
    "pageSize",
    "pageSize[]",
    "pageToken",
    "createdAfter",
    "createdBefore",
    "__proto__",
    "constructor",
    "a",
  ),
  word,
  escapes,
);
const queryValue = fc.oneof(
  fc.constantFrom(
    "RUNNING",
    "COMPLETED,COMPENSATED",
    "running",
    "",
    ",",
    "UNSPECIFIED",
    "CONFIRMING",
    "1",
    "0",
    "1000",
    "1001",
    "-1",
    "1e3",
    "0x10",
    "+5",
    "2026-11-28T10:00:00Z",
    "2026-11-28",
    "yesterday",
    "9999-99-99",
    "eyJ2IjoxfQ",
  ),
  word,
  escapes,
  absurd,
);
const query = fc
  .array(fc.tuple(queryKey, fc.option(queryValue, { nil: undefined })), { maxLength: 6 })
  .map((pairs) => (pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join("&")}`));

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "application/json; ;;",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/jsonx",
  "*/*",
  "",
);
const contentEncoding = fc.constantFrom("gzip", "deflate", "br", "identity", "bogus", "gzip, gzip", "");
const idempotencyKey = fc.oneof(word, fc.constantFrom("", " ", "a b", "k".repeat(201), "cl\xe9", "\x7f", "a,b"), rawBytes);
const header = fc.oneof(
  { arbitrary: contentType.map((v): [string, string] => ["Content-Type", v]), weight: 4 },
  { arbitrary: contentEncoding.map((v): [string, string] => ["Content-Encoding", v]), weight: 2 },
  { arbitrary: idempotencyKey.map((v): [string, string] => ["Idempotency-Key", v]), weight: 4 },
  { arbitrary: fc.constantFrom("100-continue", "foo").map((v): [string, string] => ["Expect", v]), weight: 1 },
  { arbitrary: fc.constantFrom("gzip", "foo", "chunked, gzip").map((v): [string, string] => ["Transfer-Encoding", v]), weight: 1 },
  { arbitrary: fc.tuple(word, fc.oneof(word, rawBytes)).map(([k, v]): [string, string] => [`X-${k}`, v]), weight: 2 },
  { arbitrary: fc.tuple(rawBytes, word).map(([k, v]): [string, string] => [k, v]), weight: 1 },
  { arbitrary: fc.constant<[string, string]>(["X-Huge", "h".repeat(20_000)]), weight: 1 },
);

const strangeQuantity = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, 10_000, 10_001, 1e300, "1", null, true));
const item = fc.oneof(
  {
    arbitrary: fc.record({
      productId: fc.oneof(
        { arbitrary: fc.constantFrom("mouse", "keyboard", "unicorn", "webcam"), weight: 6 },
        fc.string({ maxLength: 140 }),
        fc.integer(),
      ),
      quantity: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 3 }), weight: 6 }, { arbitrary: strangeQuantity, weight: 2 }),
    }),
    weight: 8,
  },
  fc.record({ productId: fc.string({ maxLength: 10 }), quantity: strangeQuantity, extra: fc.jsonValue() }, { requiredKeys: [] }),
  fc.jsonValue(),
);
/** Orders, mostly well formed (so sagas run), and every way of not being one. */
const orderish = fc.record(
  {
    customerId: fc.oneof(
      { arbitrary: fc.constantFrom("customer-1", "customer-2", "customer-3", "customer-404"), weight: 6 },
      fc.string({ maxLength: 140 }),
      fc.integer(),
      fc.constant(null),
    ),
    items: fc.oneof(
      { arbitrary: fc.array(item, { minLength: 1, maxLength: 3 }), weight: 6 },
      fc.constant(Array.from({ length: 101 }, () => ({ productId: "mouse", quantity: 1 }))),
      fc.constant([]),
      fc.jsonValue(),
    ),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { arbitrary: orderish.map((o) => Buffer.from(JSON.stringify(o))), weight: 6 },
  { arbitrary: fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? "")), weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), weight: 1 },
  { arbitrary: fc.constant(gzipSync(validBody())), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 20_000 }).map((n) => Buffer.from(`${"[".repeat(n)}${"]".repeat(n)}`)), weight: 1 },
  { arbitrary: fc.constant(Buffer.alloc(0)), weight: 1 },
);
const noBody = fc.constant(Buffer.alloc(0));

const anyMethod = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "get", "PROPFIND", "M-SEARCH");

/** Well-formed orders (each runs a saga, completed or compensated), so the accounting of sagas has something to count. */
const wellFormedOrder = fc.record({
  customerId: fc.constantFrom("customer-1", "customer-2", "customer-3", "customer-404"),
  items: fc.array(
    fc.record({ productId: fc.constantFrom("mouse", "keyboard", "monitor", "unicorn", "webcam"), quantity: fc.integer({ min: 1, max: 3 }) }),
    { minLength: 1, maxLength: 3 },
  ),
});

/** Any request at all, weighted towards the gateway's endpoints so most of them reach its handlers. */
const anyRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    // POST /saga with a well-formed order, with or without an Idempotency-Key.
    arbitrary: fc.record({
      method: fc.constant("POST"),
      target: fc.constant("/saga"),
      headers: fc
        .option(word, { nil: undefined })
        .map((key): Array<[string, string]> => [
          ["Content-Type", "application/json"],
          ...(key ? [["Idempotency-Key", key] as [string, string]] : []),
        ]),
      body: wellFormedOrder.map((o) => Buffer.from(JSON.stringify(o))),
      lengthSkew: fc.constant(0),
      chunked: fc.constant(false),
    }),
    weight: 2,
  },
  {
    // POST /saga: mostly JSON, any order-like body, any other headers.
    arbitrary: fc.record({
      method: fc.constant("POST"),
      target: fc.oneof(
        { arbitrary: fc.constant("/saga"), weight: 6 },
        query.map((q) => `/saga${q}`),
      ),
      headers: fc
        .tuple(
          fc.oneof(
            { arbitrary: fc.constant<[string, string]>(["Content-Type", "application/json"]), weight: 5 },
            contentType.map((v): [string, string] => ["Content-Type", v]),
          ),
          fc.array(header, { maxLength: 2 }),
        )
        .map(([ct, rest]) => [ct, ...rest]),
      body,
      lengthSkew: fc.constant(0),
      chunked: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, fc.constant(true)),
    }),
    weight: 5,
  },
  {
    // GET /sagas with any query string.
    arbitrary: fc.record({
      method: fc.constantFrom("GET", "GET", "GET", "HEAD"),
      target: query.map((q) => `/sagas${q}`),
      headers: fc.array(header, { maxLength: 1 }),
      body: noBody,
      lengthSkew: fc.constant(0),
      chunked: fc.constant(false),
    }),
    weight: 3,
  },
  {
    // GET /saga/<anything>.
    arbitrary: fc.record({
      method: fc.constantFrom("GET", "GET", "HEAD"),
      target: fc.tuple(segment, query).map(([id, q]) => `/saga/${id}${q}`),
      headers: fc.array(header, { maxLength: 1 }),
      body: noBody,
      lengthSkew: fc.constant(0),
      chunked: fc.constant(false),
    }),
    weight: 2,
  },
  {
    // Anything else: any method, path, query, headers and body.
    arbitrary: fc.record({
      method: anyMethod,
      target: fc.tuple(path, query).map(([p, q]) => p + q),
      headers: fc.array(header, { maxLength: 4 }),
      body,
      lengthSkew: fc.constant(0),
      chunked: fc.boolean(),
    }),
    weight: 2,
  },
);

// ---- hostile mutations of a valid POST /saga: each makes it one the gateway must refuse ----

type Mutation = (r: FuzzRequest) => FuzzRequest;
const withHeader = (r: FuzzRequest, name: string, value: string): FuzzRequest => ({
  ...r,
  headers: [...r.headers.filter(([k]) => k !== name), [name, value]],
});
const withBody = (r: FuzzRequest, value: unknown): FuzzRequest => ({ ...r, body: Buffer.from(JSON.stringify(value)) });
/** Bytes that are not JSON whitespace, anywhere in a JSON text, make it invalid or an id non-ASCII. */
const badByte = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.integer({ min: 11, max: 12 }),
  fc.integer({ min: 14, max: 31 }),
  fc.integer({ min: 0x7f, max: 0xff }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom("/saga/", "/saga", "/sagas"), escapes).map(([p, e]): Mutation => (r) => ({ ...r, target: p + e })),
  fc
    .tuple(
      fc.oneof(
        queryKey.filter((k) => k !== ""),
        fc.constant("x"),
      ),
      fc.option(queryValue, { nil: undefined }),
    )
    .map(([k, v]): Mutation => (r) => ({ ...r, target: `/saga?${v === undefined ? k : `${k}=${v}`}` })),
  fc.constantFrom("PUT", "DELETE", "PATCH", "GET", "FOO", "TRACE", "post").map((method): Mutation => (r) => ({ ...r, method })),
  fc
    .constantFrom(
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonx",
      "application/json; charset=latin1",
    )
    .map(
      (v): Mutation =>
        (r) =>
          withHeader(r, "Content-Type", v),
    ),
  fc.constantFrom("gzip", "deflate", "br", "bogus", "gzip, gzip").map(
    (v): Mutation =>
      (r) =>
        withHeader(r, "Content-Encoding", v),
  ),
  fc.integer({ min: 1, max: 1000 }).map((n): Mutation => (r) => ({ ...r, body: r.body.subarray(0, 1 + (n % (r.body.length - 1))) })),
  fc.tuple(fc.nat(), badByte).map(([at, byte]): Mutation => (r) => {
    const i = at % (r.body.length + 1);
    return { ...r, body: Buffer.concat([r.body.subarray(0, i), Buffer.from([byte]), r.body.subarray(i)]) };
  }),
  fc.constantFrom<unknown>("", "a b", "clé", 42, null, "x".repeat(129), "\u0000", "😀").map(
    (customerId): Mutation =>
      (r) =>
        withBody(r, { ...VALID_ORDER, customerId }),
  ),
  fc
    .constantFrom<unknown>(
      [],
      {},
      "mouse",
      Array.from({ length: 101 }, () => ({ productId: "mouse", quantity: 1 })),
      [{ productId: "mouse" }],
      [{ quantity: 1 }],
      [{ productId: "mouse", quantity: 1, price: 0 }],
      [
        { productId: "mouse", quantity: 6000 },
        { productId: "mouse", quantity: 6000 },
      ],
      ...[0, -1, 1.5, 10_001, 1e300, "1", null, true].map((quantity) => [{ productId: "mouse", quantity }]),
      ...["", "mou se", "ratón", "p".repeat(129), "\n"].map((productId) => [{ productId, quantity: 1 }]),
    )
    .map(
      (items): Mutation =>
        (r) =>
          withBody(r, { ...VALID_ORDER, items }),
    ),
  fc
    .constantFrom("coupon", "__proto__", "customerid")
    .map((extra): Mutation => (r) => ({ ...r, body: Buffer.from(`${r.body.toString().slice(0, -1)},"${extra}":1}`) })),
  fc.constantFrom("", " ", "a b", "k".repeat(201), "cl\xe9", "\x7f", "\u00ff").map(
    (v): Mutation =>
      (r) =>
        withHeader(r, "Idempotency-Key", v),
  ),
  fc.constant<Mutation>((r) => withHeader(r, "X-Huge", "h".repeat(20_000))),
  fc.constant<Mutation>((r) => ({ ...r, headers: [...r.headers, ["Transfer-Encoding", "chunked"]], lengthSkew: 0 })),
  fc.constant<Mutation>((r) => withHeader(r, "Expect", "foo")),
  fc.integer({ min: 1, max: 10 }).map((n): Mutation => (r) => ({ ...r, lengthSkew: -n })),
  { arbitrary: fc.integer({ min: 1, max: 10 }).map((n): Mutation => (r) => ({ ...r, lengthSkew: n })), weight: 1 },
);

// ---- checks -------------------------------------------------------------------------------

/** The fault, if the answer breaks the gateway's promise for any input; otherwise undefined. */
function brokenPromise(r: FuzzRequest, outcome: RawOutcome): string | undefined {
  if ("none" in outcome) return outcome.none;
  const { status, body: text } = outcome.answer;
  if (status >= 500) return `answered ${status}: ${text.slice(0, 300)}`;
  if (status >= 400 && r.method !== "HEAD") {
    let error: unknown;
    try {
      error = (JSON.parse(text) as { error?: unknown }).error;
    } catch {
      return `answered ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 300))}`;
    }
    if (typeof error !== "string" || error === "") return `answered ${status} without an "error" naming the fault: ${text.slice(0, 300)}`;
  }
  return undefined;
}

/** The saga an answer names, if any. */
function sagaIdOf(outcome: RawOutcome): string | undefined {
  if ("none" in outcome || outcome.answer.status >= 500) return undefined;
  try {
    const id = (JSON.parse(outcome.answer.body) as { sagaId?: unknown }).sagaId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}

describe("hostile input at the gateway, property-based", () => {
  let f: SystemFixture;
  let port: number;
  let sagaIds: () => Promise<Set<string>>;
  beforeAll(async () => {
    f = await startFixture({ env: { LOG_LEVEL: "warn" }, envOf: { gateway: { REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) } } });
    port = Number(new URL(f.system.urls.gateway).port);
    sagaIds = async () => {
      const orchestrator = createServiceClient(OrchestratorService, f.system.urls.orchestrator);
      const ids = new Set<string>();
      let pageToken = "";
      for (let page = 0; page < 100; page++) {
        const r = await orchestrator.listSagas({ pageSize: 1000, pageToken });
        for (const s of r.sagas) ids.add(s.sagaId);
        pageToken = r.nextPageToken;
        if (pageToken === "") break;
      }
      orchestrator.close();
      return ids;
    };
  }, 120_000);
  afterAll(() => f?.close());

  it("answers a valid order 200 as raw bytes too (the harness can see success)", async () => {
    const outcome = await sendRaw(port, bytesOf(validRequest()));
    expect("answer" in outcome && outcome.answer.status).toBe(200);
    expect(sagaIdOf(outcome)).toEqual(expect.any(String));
  });

  it("refuses every hostile variant of a valid POST /saga with a 4xx naming the fault, and starts no saga", async () => {
    const before = await sagaIds();
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 2 }), async (mutations) => {
        const r = mutations.reduce((req, m) => m(req), validRequest());
        // A Content-Length cut to 0 sends no body at all: that is the seed's default order, not a hostile one.
        fc.pre(r.chunked || r.body.length + r.lengthSkew > 0);
        const outcome = await sendRaw(port, bytesOf(r));
        const broken = brokenPromise(r, outcome);
        if (broken) throw new Error(`${broken}\nrequest: ${show(r)}`);
        const status = "answer" in outcome ? outcome.answer.status : 0;
        if (status < 400 || status >= 500) throw new Error(`answered ${status}, not a 4xx\nrequest: ${show(r)}`);
        if (sagaIdOf(outcome)) throw new Error(`named a saga\nrequest: ${show(r)}`);
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    expect([...(await sagaIds())].filter((id) => !before.has(id))).toEqual([]);
  }, 120_000);

  it("answers any request without a 5xx, a hang or a silent drop, and starts only sagas it answers for", async () => {
    const before = await sagaIds();
    const answered = new Set<string>();
    await fc.assert(
      fc.asyncProperty(anyRequest, async (r) => {
        const outcome = await sendRaw(port, bytesOf(r), { head: r.method === "HEAD" });
        const broken = brokenPromise(r, outcome);
        if (broken) throw new Error(`${broken}\nrequest: ${show(r)}`);
        const sagaId = sagaIdOf(outcome);
        if (sagaId && r.method === "POST") answered.add(sagaId);
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
    );
    const started = [...(await sagaIds())].filter((id) => !before.has(id));
    expect(started.filter((id) => !answered.has(id))).toEqual([]);
    // The generators reach the handlers: well-formed orders among the noise ran as sagas.
    expect(answered.size).toBeGreaterThan(0);
  }, 120_000);
});
