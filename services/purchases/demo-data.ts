/**
 * Purchases start empty: unlike catalog, payments and inventory, there is nothing to seed.
 * The limit the demo runs with is the documented default, 10 units per order.
 */
export { DEFAULT_MAX_UNITS_PER_ORDER as DEMO_MAX_UNITS_PER_ORDER } from "./purchases.js";
