import type { OpeningBalance } from "./payments.js";

/** The accounts a new payments database starts with (listed in the README). */
export const DEMO_ACCOUNTS: readonly OpeningBalance[] = [
  { customerId: "customer-1", balanceCents: 1_000_000_000 },
  { customerId: "customer-2", balanceCents: 500_000 },
  { customerId: "customer-3", balanceCents: 1_000 },
];
