import { MAX_AMOUNT_CENTS } from "#platform/field-rules.js";
import { OrderTooLargeError, UnknownProductError } from "./errors.js";
import type { ProductStore } from "./product-store.js";

/** One sellable item; its price is in cents. */
export interface Product {
  readonly productId: string;
  readonly name: string;
  readonly priceCents: number;
}

/** A quantity of one product, as ordered. */
export interface OrderLine {
  readonly productId: string;
  readonly quantity: number;
}

/** An order line with its price. */
export interface PricedLine extends OrderLine {
  readonly unitPriceCents: number;
  readonly lineTotalCents: number;
}

/** A priced order: every line, in the order given, and the total. */
export interface PricedOrder {
  readonly lines: PricedLine[];
  readonly totalCents: number;
}

/** The product catalog. Read-only: pricing an order has no side effects. */
export class Catalog {
  constructor(private readonly store: ProductStore) {}

  /** @throws UnknownProductError */
  getProduct(productId: string): Promise<Product> {
    return this.store.read(() => this.productOf(productId));
  }

  /** Every product, ordered by id. */
  listProducts(): Promise<Product[]> {
    return this.store.listProducts();
  }

  /**
   * Prices every line at the current catalog price.
   * @throws UnknownProductError naming the first unknown product; OrderTooLargeError when the
   * total exceeds 10^12 cents (more than any payment may carry).
   */
  priceOrder(lines: readonly OrderLine[]): Promise<PricedOrder> {
    return this.store.read(() => this.price(lines));
  }

  private productOf(productId: string): Product {
    const product = this.store.findProduct(productId);
    if (!product) throw new UnknownProductError(productId);
    return product;
  }

  private price(lines: readonly OrderLine[]): PricedOrder {
    let total = 0n;
    const priced = lines.map((line): PricedLine => {
      const { priceCents } = this.productOf(line.productId);
      const lineTotal = BigInt(priceCents) * BigInt(line.quantity);
      total += lineTotal;
      if (total > BigInt(MAX_AMOUNT_CENTS)) {
        throw new OrderTooLargeError(`the order total must be at most ${MAX_AMOUNT_CENTS} cents`);
      }
      return { ...line, unitPriceCents: priceCents, lineTotalCents: Number(lineTotal) };
    });
    return { lines: priced, totalCents: Number(total) };
  }
}
