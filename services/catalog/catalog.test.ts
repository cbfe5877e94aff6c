import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "#platform/sqlite.js";
import { postgresDatabaseForTestFile, sqliteFileForEachTest } from "#platform/service-stores-for-tests.js";
import { Catalog, type Product } from "./catalog.js";
import { DEMO_PRODUCTS } from "./demo-data.js";
import { OrderTooLargeError, UnknownProductError } from "./errors.js";
import { PostgresProductStore } from "./postgres-product-store.js";
import { SqliteProductStore, type ProductStore } from "./product-store.js";

// The domain's tests are the store contract: they run on both stores. PostgreSQL: one database
// for the file, emptied before each setup.
const postgres = postgresDatabaseForTestFile("catalog_test");

const BACKENDS = [
  {
    name: "SQLite",
    async open(products: readonly Product[]): Promise<ProductStore & { close(): unknown }> {
      const store = new SqliteProductStore(openDatabase(":memory:"));
      store.seedIfEmpty(products);
      return store;
    },
  },
  {
    name: "PostgreSQL",
    async open(products: readonly Product[]): Promise<ProductStore & { close(): unknown }> {
      const store = await postgres.openEmptiedStore((pool) => PostgresProductStore.open(pool), "products");
      await store.seedIfEmpty(products);
      return store;
    },
  },
];

describe.each(BACKENDS)("Catalog on $name", ({ open }) => {
  const opened: { close(): unknown }[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
  });
  async function setup(products: readonly Product[] = DEMO_PRODUCTS) {
    const store = await open(products);
    opened.push(store);
    return { store, catalog: new Catalog(store) };
  }

  it("returns a product, and throws naming an unknown one", async () => {
    const { catalog } = await setup();
    expect(await catalog.getProduct("keyboard")).toEqual({ productId: "keyboard", name: "Teclado", priceCents: 4_500 });
    await expect(catalog.getProduct("tablet")).rejects.toThrow(UnknownProductError);
    await expect(catalog.getProduct("tablet")).rejects.toThrow(/"tablet"/);
  });

  it("lists every product ordered by id", async () => {
    const { catalog } = await setup();
    expect((await catalog.listProducts()).map((p) => p.productId)).toEqual(["keyboard", "monitor", "mouse", "notebook", "webcam"]);
  });

  it("prices every line in the order given and adds up the total", async () => {
    const { catalog } = await setup();
    expect(
      await catalog.priceOrder([
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

  it("fails pricing on the first unknown product", async () => {
    const { catalog } = await setup();
    await expect(
      catalog.priceOrder([
        { productId: "mouse", quantity: 1 },
        { productId: "tablet", quantity: 1 },
        { productId: "phone", quantity: 1 },
      ]),
    ).rejects.toThrow(/"tablet"/);
  });

  it("refuses a total above 10^12 cents", async () => {
    const { catalog } = await setup([{ productId: "yacht", name: "Yacht", priceCents: 1_000_000_000_000 }]);
    expect((await catalog.priceOrder([{ productId: "yacht", quantity: 1 }])).totalCents).toBe(1_000_000_000_000);
    await expect(catalog.priceOrder([{ productId: "yacht", quantity: 2 }])).rejects.toThrow(OrderTooLargeError);
  });
});

describe("SqliteProductStore on a file", () => {
  const tempFile = sqliteFileForEachTest("catalog");

  it("keeps its data after close and reopen, and seeds only once", async () => {
    const path = tempFile();
    const first = new SqliteProductStore(openDatabase(path));
    expect(first.seedIfEmpty(DEMO_PRODUCTS)).toBe(true);
    first.close();

    const second = new SqliteProductStore(openDatabase(path));
    expect(second.seedIfEmpty([{ productId: "other", name: "Other", priceCents: 1 }])).toBe(false);
    expect(await new Catalog(second).listProducts()).toHaveLength(DEMO_PRODUCTS.length);
    expect(await second.read(() => second.findProduct("other"))).toBeUndefined();
    second.close();
  });
});
