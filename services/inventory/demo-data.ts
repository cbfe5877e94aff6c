import type { StockLine } from "./inventory.js";

/** The stock a new inventory database starts with (listed in the README). */
export const DEMO_STOCK: readonly StockLine[] = [
  { productId: "notebook", quantity: 100_000 },
  { productId: "mouse", quantity: 1_000_000 },
  { productId: "keyboard", quantity: 500_000 },
  { productId: "monitor", quantity: 10_000 },
  { productId: "webcam", quantity: 0 },
];
