import type pg from "pg";
import { MAX_AMOUNT_CENTS } from "#platform/field-rules.js";
import { migratePostgres, type PostgresMigration } from "#platform/postgres-migrations.js";
import { PostgresServiceStore, seedPostgresTable, type KeyedTable } from "#platform/postgres-service-store.js";
import type { Product } from "./catalog.js";
import { toProduct, type ProductRow, type ProductStore } from "./product-store.js";

/** The catalog schema on PostgreSQL, version by version (never edit a released one), with SQLite's CHECK. */
export const CATALOG_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "products",
    sql: `
CREATE TABLE products (
  product_id  text COLLATE "C" PRIMARY KEY,
  name        text NOT NULL,
  price_cents bigint NOT NULL CHECK (price_cents BETWEEN 1 AND ${MAX_AMOUNT_CENTS})
);`,
  },
];

const PRODUCTS: KeyedTable<ProductRow> = {
  name: "products",
  key: "product_id",
  lockRank: 0,
  columns: { product_id: "text", name: "text", price_cents: "bigint" },
};

/** {@link ProductStore} on the catalog service's own PostgreSQL database (reads only). */
export class PostgresProductStore extends PostgresServiceStore implements ProductStore {
  private constructor(pool: pg.Pool) {
    super(pool, "catalog");
  }

  /**
   * Migrates the schema (refusing one newer than this build) and returns the store; closing it ends the pool.
   * @throws SchemaTooNewError
   */
  static async open(pool: pg.Pool): Promise<PostgresProductStore> {
    await migratePostgres(pool, "catalog", "catalog_schema_version", CATALOG_MIGRATIONS);
    return new PostgresProductStore(pool);
  }

  /** Inserts `products` when there are none yet (first start), once even when replicas start together. */
  seedIfEmpty(products: readonly Product[]): Promise<boolean> {
    return seedPostgresTable(
      this.pool,
      "products",
      ["product_id", "name", "price_cents"],
      products.map((p) => [p.productId, p.name, p.priceCents]),
    );
  }

  findProduct(productId: string): Product | undefined {
    const row = this.row(PRODUCTS, productId);
    return row && toProduct(row);
  }

  async listProducts(): Promise<Product[]> {
    const rows = await this.query<ProductRow>({
      name: "products.list",
      text: "SELECT product_id, name, price_cents FROM products ORDER BY product_id",
    });
    return rows.map(toProduct);
  }
}
