import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSystem } from "../system/start-system.js";
import { scrape, type Scrape } from "./prometheus-scrape.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

const SUCCEEDING = 5;
const ORDER_OK = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };
/** One order failing at each step, with the code its service answers. */
const FAILING = [
  { step: "price-order", code: "NOT_FOUND", order: { customerId: "customer-1", items: [{ productId: "unicorn", quantity: 1 }] } },
  { step: "charge-payment", code: "FAILED_PRECONDITION", order: { customerId: "customer-3", items: [{ productId: "notebook", quantity: 1 }] } },
  { step: "record-purchase", code: "FAILED_PRECONDITION", order: { customerId: "customer-1", items: [{ productId: "mouse", quantity: 11 }] } },
  { step: "take-stock", code: "FAILED_PRECONDITION", order: { customerId: "customer-1", items: [{ productId: "webcam", quantity: 1 }] } },
] as const;
const FAILED = FAILING.length;
const STARTED = SUCCEEDING + FAILED;

const PAYMENTS = "saga.payments.v1.PaymentsService";
const PURCHASES = "saga.purchases.v1.PurchasesService";
const INVENTORY = "saga.inventory.v1.InventoryService";
const CATALOG = "saga.catalog.v1.CatalogService";
const ORCHESTRATOR = "saga.orchestrator.v1.OrchestratorService";

/** Sagas that got past each step (the ones failing later, and every succeeding one). */
const passed = (step: string): number => SUCCEEDING + FAILING.filter((f, i) => i > FAILING.findIndex((g) => g.step === step)).length;
/** Sagas whose step `step` was compensated: it failed there or later. */
const compensated = (step: string): number => FAILING.length - FAILING.findIndex((g) => g.step === step);

// The six real processes, known traffic through the gateway (sagas that succeed, and one
// failing at each step), then a scrape of every /metrics: each count must be exactly what the
// traffic implies, on every process and on both wires.
describe("metrics after known traffic, six processes", () => {
  let f: SystemFixture;
  const scrapes: Record<string, Scrape> = {};
  beforeAll(async () => {
    f = await startFixture();
    for (let i = 0; i < SUCCEEDING; i++) expect((await f.post("/saga", ORDER_OK)).status).toBe(200);
    for (const { order } of FAILING) expect((await f.post("/saga", order)).status).toBe(409);
    // POST /saga answers once decided (CONFIRMING): wait for the confirmations, on the metrics themselves.
    const until = Date.now() + 60_000;
    for (;;) {
      const orchestrator = await scrape(f.system.metricsUrls.orchestrator!);
      if (orchestrator.value("tpsaga_sagas_completed_total", { definition: "order" }) === SUCCEEDING) break;
      if (Date.now() > until) throw new Error("the sagas did not all complete within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const [name, url] of Object.entries(f.system.metricsUrls)) scrapes[name] = await scrape(url!);
  }, 180_000);
  afterAll(() => f?.close());

  it("every process says where its metrics are, each gRPC process on a port of its own", () => {
    const urls = f.system.metricsUrls;
    expect(Object.keys(urls).sort()).toEqual(["catalog", "gateway", "inventory", "orchestrator", "payments", "purchases"]);
    expect(urls.gateway).toBe(`${f.system.urls.gateway}/metrics`);
    const ports = Object.entries(urls)
      .filter(([name]) => name !== "gateway")
      .map(([, url]) => new URL(url!).port);
    expect(new Set(ports).size).toBe(5);
    for (const [name, url] of Object.entries(f.system.urls)) if (name !== "gateway") expect(ports).not.toContain(new URL(url).port);
  });

  it("the orchestrator counts sagas by outcome, calls by phase, step and outcome, and no retries", () => {
    const o = scrapes.orchestrator!;
    const order = { definition: "order" };
    expect(o.value("tpsaga_sagas_started_total", order)).toBe(STARTED);
    expect(o.value("tpsaga_sagas_completed_total", order)).toBe(SUCCEEDING);
    expect(o.value("tpsaga_sagas_compensated_total", order)).toBe(FAILED);
    expect(o.value("tpsaga_sagas_needs_attention_total", order)).toBe(0);
    expect(o.value("tpsaga_sagas_in_flight")).toBe(0);
    expect(o.sum("tpsaga_saga_retries_total")).toBe(0);
    const calls = (phase: string, step: string, outcome: string) =>
      o.value("tpsaga_saga_call_seconds_count", { ...order, phase, step, outcome }) ?? 0;
    for (const { step, code } of FAILING) {
      expect(calls("action", step, "OK"), step).toBe(passed(step));
      expect(calls("action", step, code), step).toBe(1);
      expect(o.sum("tpsaga_saga_call_seconds_count", { phase: "action", step }), step).toBe(passed(step) + 1);
    }
    for (const step of ["charge-payment", "record-purchase", "take-stock"]) {
      expect(calls("compensation", step, "OK"), step).toBe(compensated(step));
      expect(calls("confirmation", step, "OK"), step).toBe(SUCCEEDING);
    }
    expect(o.sum("tpsaga_saga_call_seconds_count", { phase: "compensation" })).toBe(3 + 2 + 1);
    // A histogram's buckets add up to its count.
    const bucket = o.value("tpsaga_saga_call_seconds_bucket", { ...order, phase: "action", step: "take-stock", outcome: "OK", le: "+Inf" });
    expect(bucket).toBe(SUCCEEDING);
    expect(o.value("tpsaga_saga_call_seconds_sum", { ...order, phase: "action", step: "take-stock", outcome: "OK" })).toBeGreaterThan(0);
  });

  it("calls are counted on the Exchange wire at both ends, by method and code", () => {
    const exchange = (s: Scrape, side: "server" | "client", service: string, method: string, code: string) =>
      s.value(`grpc_${side}_handled_total`, { grpc_service: service, grpc_method: method, wire: "exchange", grpc_code: code }) ?? 0;
    const expected: Array<[process: string, service: string, method: string, code: string, count: number]> = [
      ["catalog", CATALOG, "PriceOrder", "OK", passed("price-order")],
      ["catalog", CATALOG, "PriceOrder", "NOT_FOUND", 1],
      ["payments", PAYMENTS, "AuthorizePayment", "OK", passed("charge-payment")],
      ["payments", PAYMENTS, "AuthorizePayment", "FAILED_PRECONDITION", 1],
      ["payments", PAYMENTS, "VoidPayment", "OK", compensated("charge-payment")],
      ["payments", PAYMENTS, "CapturePayment", "OK", SUCCEEDING],
      ["purchases", PURCHASES, "ProcessPurchase", "OK", passed("record-purchase")],
      ["purchases", PURCHASES, "ProcessPurchase", "FAILED_PRECONDITION", 1],
      ["purchases", PURCHASES, "CancelPurchase", "OK", compensated("record-purchase")],
      ["purchases", PURCHASES, "ConfirmPurchase", "OK", SUCCEEDING],
      ["inventory", INVENTORY, "ReserveStock", "OK", SUCCEEDING],
      ["inventory", INVENTORY, "ReserveStock", "FAILED_PRECONDITION", 1],
      ["inventory", INVENTORY, "ReleaseStock", "OK", compensated("take-stock")],
      ["inventory", INVENTORY, "CommitStock", "OK", SUCCEEDING],
    ];
    for (const [process, service, method, code, count] of expected) {
      expect(exchange(scrapes[process]!, "server", service, method, code), `${process} serves ${method} ${code}`).toBe(count);
      expect(exchange(scrapes.orchestrator!, "client", service, method, code), `orchestrator calls ${method} ${code}`).toBe(count);
    }
    for (const process of ["catalog", "payments", "purchases", "inventory"]) {
      const served = scrapes[process]!.sum("grpc_server_handled_total", { wire: "exchange" });
      expect(served, process).toBe(expected.filter(([p]) => p === process).reduce((total, [, , , , count]) => total + count, 0));
      expect(scrapes[process]!.sum("grpc_server_handling_seconds_count", { wire: "exchange" }), process).toBe(served);
    }
    // The gateway starts sagas on the orchestrator's Exchange stream.
    expect(exchange(scrapes.orchestrator!, "server", ORCHESTRATOR, "StartSaga", "OK")).toBe(STARTED);
    expect(exchange(scrapes.gateway!, "client", ORCHESTRATOR, "StartSaga", "OK")).toBe(STARTED);
  });

  it("unary calls are counted apart from the Exchange stream", async () => {
    const before = (await scrape(f.system.metricsUrls.orchestrator!)).value("grpc_server_handled_total", {
      grpc_service: ORCHESTRATOR,
      grpc_method: "GetSaga",
      wire: "unary",
      grpc_code: "NOT_FOUND",
    });
    expect((await f.get("/saga/no-such-saga")).status).toBe(404);
    expect((await f.get("/saga/no-such-saga")).status).toBe(404);
    const labels = { grpc_service: ORCHESTRATOR, grpc_method: "GetSaga", wire: "unary", grpc_code: "NOT_FOUND" };
    expect((await scrape(f.system.metricsUrls.orchestrator!)).value("grpc_server_handled_total", labels)).toBe((before ?? 0) + 2);
    expect((await scrape(f.system.metricsUrls.gateway!)).value("grpc_client_handled_total", labels)).toBe((before ?? 0) + 2);
  });

  it("the gateway counts requests by method, declared route and status", async () => {
    const g = scrapes.gateway!;
    expect(g.value("http_requests_total", { method: "POST", route: "/saga", status: "200" })).toBe(SUCCEEDING);
    expect(g.value("http_requests_total", { method: "POST", route: "/saga", status: "409" })).toBe(FAILED);
    expect(g.value("http_request_duration_seconds_count", { method: "POST", route: "/saga", status: "409" })).toBe(FAILED);
    // Ids do not become series: a route is counted as declared; unknown paths as one route.
    await f.get("/saga/abc");
    await fetch(`${f.system.urls.gateway}/no/such/path`);
    const after = await scrape(f.system.metricsUrls.gateway!);
    expect(after.value("http_requests_total", { method: "GET", route: "/saga/:id", status: "404" })).toBeGreaterThanOrEqual(1);
    expect(after.samples.some((s) => s.labels.route === "/saga/abc")).toBe(false);
    expect(after.value("http_requests_total", { method: "GET", route: "unmatched", status: "404" })).toBe(1);
    // A method /metrics does not take is 405, like any other path of the gateway.
    const post = await fetch(`${f.system.urls.gateway}/metrics`, { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    const query = await fetch(`${f.system.urls.gateway}/metrics?name=x`);
    expect(query.status).toBe(400);
    expect(await query.json()).toEqual({ error: expect.stringContaining("name") });
  });

  it("stores report their group commits: every write of the traffic, in batches, and every process Node's own metrics", () => {
    // Each mutating call the services answered is one write (a refused action records its refusal too).
    for (const process of ["payments", "purchases", "inventory"] as const) {
      const s = scrapes[process]!;
      const database = { store: "sqlite", database: `${process}.db` };
      const commits = s.value("tpsaga_store_commit_seconds_count", database)!;
      expect(commits, process).toBeGreaterThan(0);
      expect(s.value("tpsaga_store_commit_writes_count", database), process).toBe(commits);
      expect(s.value("tpsaga_store_commit_writes_sum", database), process).toBe(s.sum("grpc_server_handled_total", { wire: "exchange" }));
    }
    // The saga log: one write per event. A saga that completes logs 17 (created, 4 actions started
    // and succeeded, decided, 3 confirmations started and succeeded, completed); one failing at
    // step i logs created, i actions started and succeeded, the failing one started and failed,
    // i compensations started and succeeded (the failing step's included; price-order has none), compensated.
    const events = SUCCEEDING * 17 + FAILING.reduce((total, _f, i) => total + 4 + 2 * i + 2 * i, 0);
    const log = { store: "sqlite", database: "orchestrator.db" };
    expect(scrapes.orchestrator!.value("tpsaga_store_commit_writes_sum", log)).toBe(events);
    expect(scrapes.orchestrator!.value("tpsaga_store_commit_writes_count", log)).toBe(
      scrapes.orchestrator!.value("tpsaga_store_commit_seconds_count", log),
    );
    expect(scrapes.catalog!.sum("tpsaga_store_commit_writes_sum")).toBe(0);
    for (const [process, s] of Object.entries(scrapes)) {
      expect(s.value("process_cpu_user_seconds_total"), process).toBeGreaterThan(0);
      expect(s.value("nodejs_eventloop_lag_seconds"), process).toBeDefined();
    }
  });
});

describe("METRICS=off", () => {
  it("records nothing and serves no /metrics", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "tp-saga-metrics-off-"));
    const lines: string[] = [];
    const system = await startSystem({
      dataDir,
      only: ["catalog"],
      ports: { catalog: 0 },
      env: { METRICS: "off" },
      onLine: (_name, line) => void lines.push(line),
    });
    try {
      expect(system.metricsUrls).toEqual({});
      const listening = lines.find((l) => l.includes('"listening"'));
      expect(listening).toBeDefined();
      expect(JSON.parse(listening!)).not.toHaveProperty("metrics");
    } finally {
      await system.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
