import { MAX_AMOUNT_CENTS } from "#platform/field-rules.js";
import type { SqliteDatabase } from "#platform/sqlite.js";
import type { Product } from "./catalog.js";

/**
 * What the catalog needs from storage (it only reads), on SQLite ({@link SqliteProductStore})
 * or PostgreSQL (`PostgresProductStore`): `findProduct` is synchronous and called inside `read`.
 */
export interface ProductStore {
  /** Runs synchronous keyed reads against committed state. */
  read<T>(work: () => T): Promise<T>;
  findProduct(productId: string): Product | undefined;
  /** Every product, ordered by id. */
  listProducts(): Promise<Product[]>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS products (
  product_id  TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  price_cents INTEGER NOT NULL CHECK (price_cents BETWEEN 1 AND ${MAX_AMOUNT_CENTS})
) STRICT;
`;

/** A product as stored (the same columns on SQLite and PostgreSQL). */
export interface ProductRow {
  product_id: string;
  name: string;
  price_cents: number;
}

/** A stored product row as the domain's product. */
export const toProduct = (r: ProductRow): Product => ({ productId: r.product_id, name: r.name, priceCents: r.price_cents });

/** {@link ProductStore} over one better-sqlite3 connection. */
export class SqliteProductStore implements ProductStore {
  private readonly statements;

  constructor(private readonly db: SqliteDatabase) {
    db.exec(SCHEMA);
    this.statements = {
      find: db.prepare<[string], ProductRow>("SELECT product_id, name, price_cents FROM products WHERE product_id = ?"),
      list: db.prepare<[], ProductRow>("SELECT product_id, name, price_cents FROM products ORDER BY product_id"),
      count: db.prepare<[], { n: number }>("SELECT count(*) AS n FROM products"),
      insert: db.prepare<[string, string, number]>("INSERT INTO products (product_id, name, price_cents) VALUES (?, ?, ?)"),
    };
  }

  /** Inserts `products` when there are none yet (first start). Returns whether it did. */
  seedIfEmpty(products: readonly Product[]): boolean {
    return this.db.transaction(() => {
      if ((this.statements.count.get()?.n ?? 0) > 0) return false;
      for (const p of products) this.statements.insert.run(p.productId, p.name, p.priceCents);
      return true;
    })();
  }

  /** On SQLite the reads answer at once; the promise is the contract shared with PostgreSQL. */
  read<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  findProduct(productId: string): Product | undefined {
    const row = this.statements.find.get(productId);
    return row && toProduct(row);
  }

  async listProducts(): Promise<Product[]> {
    return this.statements.list.all().map(toProduct);
  }

  close(): void {
    this.db.close();
  }
}
