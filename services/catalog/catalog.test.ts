import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "#platform/sqlite.js";
import { Catalog, type Product } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { OrderTooLargeError, UnknownProductError } from "./errors.js";
import { SqliteProductStore } from "./product-store.js";

function setup(products: readonly Product[] = DEMO_PRODUCTS) {
  const store = new SqliteProductStore(openDatabase(":memory:"));
  store.seedIfEmpty(products);
  return { store, catalog: new Catalog(store) };
}

describe("Catalog", () => {
  it("returns a product, and throws naming an unknown one", () => {
    const { catalog } = setup();
    expect(catalog.getProduct("keyboard")).toEqual({ productId: "keyboard", name: "Teclado", priceCents: 4_500 });
    expect(() => catalog.getProduct("tablet")).toThrow(UnknownProductError);
    expect(() => catalog.getProduct("tablet")).toThrow(/"tablet"/);
  });

  it("lists every product ordered by id", () => {
    const { catalog } = setup();
    expect(catalog.listProducts().map((p) => p.productId)).toEqual(["keyboard", "monitor", "mouse", "notebook", "webcam"]);
  });

  it("prices every line in the order given and adds up the total", () => {
    const { catalog } = setup();
    expect(
      catalog.priceOrder([
        { productId: "notebook", quantity: 1 },
        { productId: "mouse", quantity: 3 },
        { productId: "notebook", quantity: 2 },
      ]),
    ).toEqual({
      lines: [
        { productId: "notebook", quantity: 1, unitPriceCents: 150_000, lineTotalCents: 150_000 },
        { productId: "mouse", quantity: 3, unitPriceCents: 2_500, lineTotalCents: 7_500 },
        { productId: "notebook", quantity: 2, unitPriceCents: 150_000, lineTotalCents: 300_000 },
      ],
      totalCents: 457_500,
    });
  });

  it("fails pricing on the first unknown product", () => {
    const { catalog } = setup();
    expect(() =>
      catalog.priceOrder([
        { productId: "mouse", quantity: 1 },
        { productId: "tablet", quantity: 1 },
        { productId: "phone", quantity: 1 },
      ]),
    ).toThrow(/"tablet"/);
  });

  it("refuses a total above 10^12 cents", () => {
    const { catalog } = setup([{ productId: "yacht", name: "Yacht", priceCents: 1_000_000_000_000 }]);
    expect(catalog.priceOrder([{ productId: "yacht", quantity: 1 }]).totalCents).toBe(1_000_000_000_000);
    expect(() => catalog.priceOrder([{ productId: "yacht", quantity: 2 }])).toThrow(OrderTooLargeError);
  });
});

describe("SqliteProductStore on a file", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("keeps its data after close and reopen, and seeds only once", () => {
    const dir = mkdtempSync(join(tmpdir(), "catalog-"));
    dirs.push(dir);
    const path = join(dir, "catalog.db");
    const first = new SqliteProductStore(openDatabase(path));
    expect(first.seedIfEmpty(DEMO_PRODUCTS)).toBe(true);
    first.close();

    const second = new SqliteProductStore(openDatabase(path));
    expect(second.seedIfEmpty([{ productId: "other", name: "Other", priceCents: 1 }])).toBe(false);
    expect(new Catalog(second).listProducts()).toHaveLength(DEMO_PRODUCTS.length);
    expect(second.findProduct("other")).toBeUndefined();
    second.close();
  });
});
