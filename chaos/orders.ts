/**
 * The orders a chaos run sends, drawn from the demo data (docs/architecture.md, "Seed demo mode and demo data"): a
 * seeded mix that succeeds, and that fails on purpose at each step of the order saga.
 */
import { ORDER_STEPS } from "../orchestrator/order-saga/order-saga.js";
import { DEFAULT_MAX_UNITS_PER_ORDER } from "../services/purchases/purchases.js";
import type { Prng } from "./prng.js";

/** What an order is built to do. `default` posts no body (the seed's default order). */
export const INTENTS = ["success", "default", "catalog", "payments", "purchases", "inventory"] as const;
export type Intent = (typeof INTENTS)[number];

/** The saga step at which each failing intent must stop (persisted step names of the order saga). */
export const FAILING_STEP: Readonly<Partial<Record<Intent, string>>> = {
  catalog: ORDER_STEPS.price,
  payments: ORDER_STEPS.charge,
  purchases: ORDER_STEPS.purchase,
  inventory: ORDER_STEPS.stock,
};

export interface OrderBody {
  customerId: string;
  items: { productId: string; quantity: number }[];
}

export interface PlannedOrder {
  readonly intent: Intent;
  /** undefined: POST /saga with no body. */
  readonly body: OrderBody | undefined;
}

/** Relative weight of each intent in the mix. */
export const DEFAULT_MIX: Readonly<Record<Intent, number>> = {
  success: 50,
  default: 5,
  catalog: 10,
  payments: 10,
  purchases: 12,
  inventory: 13,
};

const IN_STOCK = ["notebook", "mouse", "keyboard", "monitor"] as const;
/** The purchases service refuses more than this many units in one order (its default; chaos runs leave it unset). */
export const MAX_UNITS_PER_ORDER = DEFAULT_MAX_UNITS_PER_ORDER;

/**
 * One order for `intent`:
 * - success: customer-1 (10^9 cents), 1–3 in-stock products, at most 10 units in all;
 * - catalog: an unknown product (alone or beside known ones): fails before any change;
 * - payments: customer-3 (1000 cents) buys more than it has;
 * - purchases: customer-1 orders 11–20 units of cheap products (over the 10-unit rule);
 * - inventory: customer-1 orders a webcam (stock 0), possibly beside products in stock.
 * A failing order may still fail earlier than planned under demo failures, never later.
 */
export function planOrder(intent: Intent, random: Prng, index: number): PlannedOrder {
  const someInStock = (maxUnits: number): OrderBody["items"] => {
    const products = random.shuffle(IN_STOCK).slice(0, random.int(1, 3));
    let left = maxUnits;
    const items: OrderBody["items"] = [];
    for (const productId of products) {
      if (left <= 0) break;
      const quantity = random.int(1, Math.min(3, left));
      left -= quantity;
      items.push({ productId, quantity });
    }
    return items;
  };
  switch (intent) {
    case "success":
      return { intent, body: { customerId: "customer-1", items: someInStock(MAX_UNITS_PER_ORDER) } };
    case "default":
      return { intent, body: undefined };
    case "catalog": {
      const unknown = { productId: `unicorn-${index}`, quantity: random.int(1, 3) };
      const items = random.chance(0.5) ? [...someInStock(5), unknown] : [unknown];
      return { intent, body: { customerId: "customer-1", items } };
    }
    case "payments":
      return {
        intent,
        body: { customerId: "customer-3", items: [{ productId: random.pick(["notebook", "monitor", "keyboard"]), quantity: random.int(1, 3) }] },
      };
    case "purchases": {
      const total = random.int(MAX_UNITS_PER_ORDER + 1, 2 * MAX_UNITS_PER_ORDER);
      const first = random.int(1, total);
      const items = [{ productId: "mouse", quantity: first }];
      if (total > first) items.push({ productId: "keyboard", quantity: total - first });
      return { intent, body: { customerId: "customer-1", items } };
    }
    case "inventory": {
      const webcam = { productId: "webcam", quantity: random.int(1, 2) };
      const items = random.chance(0.5) ? [...someInStock(5), webcam] : [webcam];
      return { intent, body: { customerId: "customer-1", items } };
    }
  }
}

/** `count` orders, intents drawn by weight from `mix`. */
export function planOrders(count: number, random: Prng, mix: Readonly<Record<Intent, number>> = DEFAULT_MIX): PlannedOrder[] {
  const total = INTENTS.reduce((n, i) => n + mix[i], 0);
  const draw = (): Intent => {
    let x = random.next() * total;
    for (const i of INTENTS) {
      x -= mix[i];
      if (x < 0) return i;
    }
    return "success";
  };
  return Array.from({ length: count }, (_, index) => planOrder(draw(), random, index));
}
