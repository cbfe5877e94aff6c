import { describe, expect, it } from "vitest";
import { PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { DEMO_PRODUCTS } from "../services/catalog/demo-data.js";
import { DEMO_STOCK } from "../services/inventory/demo-data.js";
import { inProcessSystem, type InProcessSystem } from "./in-process-system.js";

// The anomalies a saga without isolation invites, provoked through whole sagas (the real
// engine, the order saga and the four services' handlers on SQLite): many sagas at once
// competing for the last units of a product and for the last money of an account, while a
// reader keeps looking. Pending states are what hold: a hold or a reservation counts against
// what is available the moment it is made, and nothing is final (captured, committed) before
// the saga has passed its pivot, so nothing a reader sees as final is ever undone.

const LAST_UNITS = 5;
const LAST_MONEY_CENTS = 10_000; // four mice at 2,500
const SAGAS_EACH = 30;

const seeds = {
  products: [...DEMO_PRODUCTS, { productId: "last-units", name: "Last units", priceCents: 1_000 }],
  stock: [...DEMO_STOCK, { productId: "last-units", quantity: LAST_UNITS }],
  accounts: [
    { customerId: "rich", balanceCents: 1_000_000_000 },
    { customerId: "last-money", balanceCents: LAST_MONEY_CENTS },
  ],
};

/** What the reader saw: every payment it saw CAPTURED, and every rule it saw broken. */
interface Sightings {
  captured: Set<string>;
  broken: string[];
  looks: number;
}

/** Reads payments, accounts and stock over and over until `stop` says so, checking each read. */
async function read(system: InProcessSystem, stop: () => boolean): Promise<Sightings> {
  const seen: Sightings = { captured: new Set(), broken: [], looks: 0 };
  const { payments, inventory } = system.clients;
  while (!stop()) {
    let token = "";
    do {
      const page = await payments.listPayments({ pageSize: 1000, pageToken: token });
      for (const p of page.payments) if (p.status === PaymentStatus.CAPTURED) seen.captured.add(p.idempotencyKey);
      token = page.nextPageToken;
    } while (token !== "");
    for (const a of (await payments.listAccounts({})).accounts) {
      if (a.heldCents < 0n || a.heldCents > a.balanceCents || a.availableCents !== a.balanceCents - a.heldCents) {
        seen.broken.push(`account ${a.customerId}: balance ${a.balanceCents}, held ${a.heldCents}, available ${a.availableCents}`);
      }
    }
    for (const s of (await inventory.listStock({})).stock) {
      if (s.quantity < 0n || s.reserved < 0n || s.reserved > s.quantity || s.available !== s.quantity - s.reserved) {
        seen.broken.push(`stock ${s.productId}: on hand ${s.quantity}, reserved ${s.reserved}, available ${s.available}`);
      }
    }
    seen.looks++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return seen;
}

describe("isolation: sagas competing for the last units and the last money", () => {
  it("never oversells, never overdraws, and no reader sees as captured a payment that is later voided", async () => {
    const system = inProcessSystem({ seeds });
    const start = (customerId: string, productId: string) =>
      system.orchestrator.startSaga({ order: { customerId, items: [{ productId, quantity: 1 }] }, waitMs: 30_000 }).then((r) => r.saga!);

    let done = false;
    const reader = read(system, () => done);
    const answers = await Promise.all([
      ...Array.from({ length: SAGAS_EACH }, () => start("rich", "last-units")),
      ...Array.from({ length: SAGAS_EACH }, () => start("last-money", "mouse")),
    ]);
    for (const saga of answers) await system.runner.wait(saga.sagaId, 30_000, "terminal");
    done = true;
    const sightings = await reader;

    const sagas = await Promise.all(answers.map(async (a) => (await system.orchestrator.getSaga({ sagaId: a.sagaId })).saga!));
    const completed = (customerId: string) => sagas.filter((s) => s.order?.customerId === customerId && s.status === SagaStatus.COMPLETED).length;
    expect(sagas.every((s) => s.status === SagaStatus.COMPLETED || s.status === SagaStatus.COMPENSATED)).toBe(true);
    // Exactly as many sagas completed as there were units and money: none oversold, none overdrawn,
    // and none refused while units or money were still there in the end.
    expect(completed("rich")).toBe(LAST_UNITS);
    expect(completed("last-money")).toBe(LAST_MONEY_CENTS / 2_500);
    const { payments, inventory } = system.clients;
    expect((await inventory.getStock({ productId: "last-units" })).stock).toMatchObject({ quantity: 0n, reserved: 0n, available: 0n });
    expect((await payments.getAccount({ customerId: "last-money" })).account).toMatchObject({ balanceCents: 0n, heldCents: 0n });

    // The sagas that lost the race for the last units had their payment authorized, then voided:
    // the reader must never have seen one of them captured.
    const voided = (await payments.listPayments({ pageSize: 1000 })).payments.filter((p) => p.status === PaymentStatus.VOIDED);
    expect(voided.length).toBe(SAGAS_EACH - LAST_UNITS);
    expect(voided.filter((p) => sightings.captured.has(p.idempotencyKey))).toEqual([]);
    expect(sightings.captured.size).toBeGreaterThan(0);
    expect(sightings.looks).toBeGreaterThan(1);
    expect(sightings.broken).toEqual([]);
  });
});
