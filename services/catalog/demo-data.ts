import type { Product } from "./catalog.js";

/** The products a new catalog database starts with (listed in the README). */
export const DEMO_PRODUCTS: readonly Product[] = [
  { productId: "notebook", name: "Notebook", priceCents: 150_000 },
  { productId: "mouse", name: "Mouse", priceCents: 2_500 },
  { productId: "keyboard", name: "Teclado", priceCents: 4_500 },
  { productId: "monitor", name: "Monitor", priceCents: 32_000 },
  { productId: "webcam", name: "Webcam", priceCents: 6_000 },
];
