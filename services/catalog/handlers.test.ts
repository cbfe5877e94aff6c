import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { createDemoMode, DEMO_OFF, type DemoMode } from "#platform/demo-mode.js";
import { failureOf } from "#platform/rpc-errors.js";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { catalogHandlers } from "./handlers.js";
import { SqliteProductStore } from "./product-store.js";

function setup(demo: DemoMode = DEMO_OFF) {
  const store = new SqliteProductStore(openDatabase(":memory:"));
  store.seedIfEmpty(DEMO_PRODUCTS);
  const handlers = catalogHandlers(new Catalog(store), demo);
  const client = createClient(
    CatalogService,
    createRouterTransport((r) => r.service(CatalogService, handlers)),
  );
  return { client, store };
}

describe("GetProduct", () => {
  it("returns the product with its price as int64", async () => {
    const { client } = setup();
    expect((await client.getProduct({ productId: "notebook" })).product).toMatchObject({
      productId: "notebook",
      name: "Notebook",
      priceCents: 150_000n,
    });
  });

  it("answers NOT_FOUND naming an unknown product", async () => {
    const { client } = setup();
    const e = await failureOf(client.getProduct({ productId: "tablet" }));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toContain("tablet");
  });

  it.each([
    ["", "product_id: must not be empty"],
    ["note book", "product_id: must be printable ASCII without spaces"],
    ["café", "product_id: must be printable ASCII without spaces"],
    ["x".repeat(129), "product_id: must be at most 128 characters"],
  ])("answers INVALID_ARGUMENT for product_id %j", async (productId, message) => {
    const { client } = setup();
    expect(await failureOf(client.getProduct({ productId }))).toEqual({ code: Code.InvalidArgument, message });
  });
});

describe("ListProducts", () => {
  it("returns every product ordered by product_id", async () => {
    const { client } = setup();
    const { products } = await client.listProducts({});
    expect(products.map((p) => [p.productId, p.name, p.priceCents])).toEqual([
      ["keyboard", "Teclado", 4_500n],
      ["monitor", "Monitor", 32_000n],
      ["mouse", "Mouse", 2_500n],
      ["notebook", "Notebook", 150_000n],
      ["webcam", "Webcam", 6_000n],
    ]);
  });
});

describe("PriceOrder", () => {
  it("prices the lines and returns the total", async () => {
    const { client } = setup();
    const res = await client.priceOrder({
      lines: [
        { productId: "monitor", quantity: 2 },
        { productId: "mouse", quantity: 1 },
      ],
    });
    expect(res.lines.map((l) => [l.productId, l.quantity, l.unitPriceCents, l.lineTotalCents])).toEqual([
      ["monitor", 2, 32_000n, 64_000n],
      ["mouse", 1, 2_500n, 2_500n],
    ]);
    expect(res.totalCents).toBe(66_500n);
  });

  it("prices the largest valid order", async () => {
    const { client } = setup();
    const res = await client.priceOrder({ lines: Array.from({ length: 100 }, () => ({ productId: "notebook", quantity: 10_000 })) });
    expect(res.totalCents).toBe(150_000_000_000n);
  });

  const line = { productId: "mouse", quantity: 1 };
  it.each([
    [[], "lines: must not be empty"],
    [Array.from({ length: 101 }, () => line), "lines: must have at most 100 lines"],
    [[line, { productId: "", quantity: 1 }], "lines[1].product_id: must not be empty"],
    [[line, line, { productId: "mouse", quantity: 0 }], "lines[2].quantity: must be between 1 and 10000"],
    [[{ productId: "mouse", quantity: 10_001 }], "lines[0].quantity: must be between 1 and 10000"],
  ])("answers INVALID_ARGUMENT naming the field (%#)", async (lines, message) => {
    const { client } = setup();
    expect(await failureOf(client.priceOrder({ lines }))).toEqual({ code: Code.InvalidArgument, message });
  });

  it("answers NOT_FOUND naming the unknown product", async () => {
    const { client } = setup();
    const e = await failureOf(client.priceOrder({ lines: [line, { productId: "tablet", quantity: 1 }] }));
    expect(e.code).toBe(Code.NotFound);
    expect(e.message).toContain("tablet");
  });

  it("fails at random in demo mode; reads are never failed", async () => {
    const { client } = setup(createDemoMode({ failureRate: 1, minLatencyMs: 0, maxLatencyMs: 0 }));
    expect(await failureOf(client.priceOrder({ lines: [line] }))).toEqual({ code: Code.FailedPrecondition, message: "fallo simulado (modo demo)" });
    expect((await client.getProduct({ productId: "mouse" })).product?.priceCents).toBe(2_500n);
  });

  it("answers INTERNAL without leaking the cause when the store breaks", async () => {
    const { client, store } = setup();
    store.close();
    expect(await failureOf(client.getProduct({ productId: "mouse" }))).toEqual({ code: Code.Internal, message: "internal error" });
  });
});
