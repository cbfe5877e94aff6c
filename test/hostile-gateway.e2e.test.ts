import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { takeSnapshot, type Snapshot } from "../system/invariants.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// Hostile input at the gateway, table-driven: each case gets the right 4xx with a message
// naming what is wrong — never a 5xx — and no money or stock moves anywhere.
const order = (items: unknown, customerId: unknown = "customer-1") => ({ customerId, items });
const mouse = (quantity: unknown) => [{ productId: "mouse", quantity }];

type Case = { name: string; body?: unknown; raw?: string; contentType?: string; headers?: Record<string, string>; status: number; mentions: string | RegExp };

const CASES: Case[] = [
  { name: "malformed JSON", raw: '{"customerId": "customer-1", "items": [', status: 400, mentions: "body" },
  { name: "JSON that is not an object", raw: "[1,2,3]", status: 400, mentions: "body" },
  { name: "wrong content type", raw: "customerId=customer-1", contentType: "application/x-www-form-urlencoded", status: 415, mentions: "Content-Type" },
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
  { name: "10,000 items", body: order(Array.from({ length: 10_000 }, () => ({ productId: "mouse", quantity: 1 }))), status: 413, mentions: "too large" },
  { name: "101 items", body: order(Array.from({ length: 101 }, () => ({ productId: "mouse", quantity: 1 }))), status: 400, mentions: "items" },
  { name: "5 MiB body", raw: JSON.stringify({ customerId: "x".repeat(5 * 1024 * 1024), items: mouse(1) }), status: 413, mentions: "too large" },
  { name: "empty customerId", body: order(mouse(1), ""), status: 400, mentions: "customerId" },
  { name: "unicode in customerId", body: order(mouse(1), "cliente-ñandú"), status: 400, mentions: "customerId" },
  { name: "control character in productId", body: order([{ productId: "mou\u0000se", quantity: 1 }]), status: 400, mentions: "items[0].productId" },
  { name: "newline in productId", body: order([{ productId: "mouse\n", quantity: 1 }]), status: 400, mentions: "items[0].productId" },
  { name: "overlong customerId", body: order(mouse(1), "c".repeat(129)), status: 400, mentions: "customerId" },
  { name: "overlong Idempotency-Key", body: order(mouse(1)), headers: { "idempotency-key": "k".repeat(201) }, status: 400, mentions: "Idempotency-Key" },
  { name: "Idempotency-Key with spaces", body: order(mouse(1)), headers: { "idempotency-key": "a key" }, status: 400, mentions: "Idempotency-Key" },
  { name: "the same product twice over the limit", body: order([{ productId: "mouse", quantity: 6000 }, { productId: "mouse", quantity: 6000 }]), status: 400, mentions: "mouse" },
  // Well-formed orders that name what does not exist: the saga runs and is compensated (409).
  { name: "unknown product", body: order([{ productId: "unicorn", quantity: 1 }]), status: 409, mentions: "Fallo en el catálogo" },
  { name: "unknown customer", body: order(mouse(1), "customer-404"), status: 409, mentions: "Fallo en el pago" },
];

describe("hostile input at the gateway", () => {
  let f: SystemFixture;
  let before: Snapshot;
  beforeAll(async () => {
    f = await startFixture({ env: { LOG_LEVEL: "warn" } });
    before = await takeSnapshot(f.system.urls);
  }, 120_000);
  afterAll(() => f?.close());

  it.each(CASES)("$name → $status", async (c) => {
    const init: RequestInit = { method: "POST", headers: { "content-type": c.contentType ?? "application/json", ...c.headers } };
    init.body = c.raw ?? JSON.stringify(c.body);
    const res = await fetch(`${f.system.urls.gateway}/saga`, init);
    const body = (await res.json()) as { error?: string };
    expect(res.status).toBe(c.status);
    expect(body.error).toEqual(expect.stringMatching(typeof c.mentions === "string" ? new RegExp(c.mentions.replace(/[[\]().*+?^$|\\]/g, "\\$&")) : c.mentions));
  });

  it("refuses a key reused with a different body, and the first saga stands", async () => {
    const first = await f.post("/saga", order(mouse(1)), { "idempotency-key": "hostile-reuse" });
    expect(first.status).toBe(200);
    const reuse = await f.post("/saga", order(mouse(2)), { "idempotency-key": "hostile-reuse" });
    expect(reuse.status).toBe(409);
    expect(reuse.body.error).toContain("hostile-reuse");
    expect((await f.get(`/saga/${first.body.sagaId}`)).body.order.items[0].quantity).toBe(1);
  });

  it("moved no money and no stock for any refused input", async () => {
    const after = await takeSnapshot(f.system.urls);
    // The one accepted order above took 2500 cents and one mouse.
    expect(after.totalBalanceCents).toBe(before.totalBalanceCents - 2500);
    expect(after.stock.get("mouse")).toBe(before.stock.get("mouse")! - 1);
    for (const [product, quantity] of before.stock) if (product !== "mouse") expect(after.stock.get(product)).toBe(quantity);
  });
});
