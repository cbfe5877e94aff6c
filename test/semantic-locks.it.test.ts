import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InventoryService, ReservationStatus } from "#gen/saga/inventory/v1/inventory_pb.js";
import { PaymentsService, PaymentStatus } from "#gen/saga/payments/v1/payments_pb.js";
import { DEMO_OFF } from "#platform/demo-mode.js";
import { createServiceClient, type ServiceClient } from "#platform/grpc-client.js";
import { serve, startGrpcServer, type GrpcServer } from "#platform/grpc-server.js";
import { createLogger } from "#platform/logger.js";
import { openDatabase } from "#platform/sqlite.js";
import { inventoryHandlers } from "../services/inventory/handlers.js";
import { Inventory } from "../services/inventory/inventory.js";
import { SqliteInventoryStore } from "../services/inventory/inventory-store.js";
import { paymentsHandlers } from "../services/payments/handlers.js";
import { SqlitePaymentStore } from "../services/payments/payment-store.js";
import { Payments } from "../services/payments/payments.js";

// The anomalies a saga's lack of isolation invites, provoked on purpose against the real
// payments and inventory services (grpc-js servers on port 0, SQLite files in a temp dir),
// called from several channels at once: lost updates (two authorizations both spending the
// last money, two reservations both taking the last units) and dirty reads (a reader seeing a
// charge that is then undone).

const log = createLogger("test", "silent");
const CHANNELS = 4;
let dir: string;
let paymentsServer: GrpcServer;
let inventoryServer: GrpcServer;
let paymentStore: SqlitePaymentStore;
let inventoryStore: SqliteInventoryStore;
let payments: ServiceClient<typeof PaymentsService>[] = [];
let inventory: ServiceClient<typeof InventoryService>[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "semantic-locks-"));
  paymentStore = new SqlitePaymentStore(openDatabase(join(dir, "payments.db")));
  paymentStore.seedIfEmpty([
    { customerId: "last-money", balanceCents: 1_000 },
    { customerId: "reader", balanceCents: 1_000_000 },
  ]);
  inventoryStore = new SqliteInventoryStore(openDatabase(join(dir, "inventory.db")));
  inventoryStore.seedIfEmpty([{ productId: "last-units", quantity: 10 }]);
  paymentsServer = await startGrpcServer({
    services: [serve(PaymentsService, paymentsHandlers(new Payments(paymentStore), DEMO_OFF))],
    host: "127.0.0.1",
    port: 0,
    log,
  });
  inventoryServer = await startGrpcServer({
    services: [serve(InventoryService, inventoryHandlers(new Inventory(inventoryStore), DEMO_OFF))],
    host: "127.0.0.1",
    port: 0,
    log,
  });
  payments = Array.from({ length: CHANNELS }, () => createServiceClient(PaymentsService, paymentsServer.url, { timeoutMs: 10_000 }));
  inventory = Array.from({ length: CHANNELS }, () => createServiceClient(InventoryService, inventoryServer.url, { timeoutMs: 10_000 }));
});

afterAll(async () => {
  for (const c of [...payments, ...inventory]) c.close();
  await paymentsServer?.close();
  await inventoryServer?.close();
  paymentStore?.close();
  inventoryStore?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A deterministic PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("semantic locks under concurrency, over gRPC", () => {
  it("concurrent authorizations for the last money of an account never overdraw it", async () => {
    const random = prng(7);
    const amounts = Array.from({ length: 60 }, () => 50 + Math.floor(random() * 200));
    const outcomes = await Promise.allSettled(
      amounts.map((amountCents, i) =>
        payments[i % CHANNELS]!.authorizePayment({ idempotencyKey: `last-${i}`, customerId: "last-money", amountCents: BigInt(amountCents) }),
      ),
    );
    const authorized = amounts.filter((_, i) => outcomes[i]!.status === "fulfilled");
    const declined = outcomes.filter((o) => o.status === "rejected").length;
    expect(authorized.length).toBeGreaterThan(0);
    expect(declined).toBeGreaterThan(0);
    const held = authorized.reduce((sum, a) => sum + a, 0);
    expect(held).toBeLessThanOrEqual(1_000);
    const account = (await payments[0]!.getAccount({ customerId: "last-money" })).account!;
    expect(account).toMatchObject({ balanceCents: 1_000n, heldCents: BigInt(held), availableCents: BigInt(1_000 - held) });

    // Capturing every hold at once spends exactly what was held, never more than the balance.
    await Promise.all(
      amounts.map((_, i) =>
        outcomes[i]!.status === "fulfilled" ? payments[i % CHANNELS]!.capturePayment({ idempotencyKey: `last-${i}` }) : undefined,
      ),
    );
    expect((await payments[0]!.getAccount({ customerId: "last-money" })).account).toMatchObject({
      balanceCents: BigInt(1_000 - held),
      heldCents: 0n,
    });
  });

  it("concurrent reservations for the last units of a product never oversell it", async () => {
    const random = prng(11);
    const wanted = Array.from({ length: 60 }, () => 1 + Math.floor(random() * 3));
    const outcomes = await Promise.allSettled(
      wanted.map((quantity, i) =>
        inventory[i % CHANNELS]!.reserveStock({ idempotencyKey: `units-${i}`, lines: [{ productId: "last-units", quantity }] }),
      ),
    );
    const reservedKeys = wanted.flatMap((_, i) => (outcomes[i]!.status === "fulfilled" ? [i] : []));
    const reserved = reservedKeys.reduce((sum, i) => sum + wanted[i]!, 0);
    expect(reservedKeys.length).toBeGreaterThan(0);
    expect(reserved).toBeLessThanOrEqual(10);
    expect((await inventory[0]!.getStock({ productId: "last-units" })).stock).toMatchObject({
      quantity: 10n,
      reserved: BigInt(reserved),
      available: BigInt(10 - reserved),
    });

    // Commit half, release the rest, all at once: on hand falls by exactly what was committed.
    const committed = reservedKeys.filter((_, n) => n % 2 === 0);
    await Promise.all(
      reservedKeys.map((i, n) => {
        const c = inventory[i % CHANNELS]!;
        return n % 2 === 0 ? c.commitStock({ idempotencyKey: `units-${i}` }) : c.releaseStock({ idempotencyKey: `units-${i}` });
      }),
    );
    const gone = committed.reduce((sum, i) => sum + wanted[i]!, 0);
    expect((await inventory[0]!.getStock({ productId: "last-units" })).stock).toMatchObject({ quantity: BigInt(10 - gone), reserved: 0n });
    const statuses = (await inventory[0]!.listReservations({ pageSize: 1000 })).reservations.filter((r) => r.idempotencyKey.startsWith("units-"));
    expect(statuses.filter((r) => r.status === ReservationStatus.COMMITTED)).toHaveLength(committed.length);
    expect(statuses.filter((r) => r.status === ReservationStatus.RESERVED)).toEqual([]);
  });

  it("a reader polling during racing captures and voids never sees CAPTURED for a payment that ends VOIDED", async () => {
    const random = prng(23);
    const KEYS = 80;
    const seen = new Map<string, Set<PaymentStatus>>();
    const note = (key: string, status: PaymentStatus) => {
      if (!key.startsWith("race-")) return;
      if (!seen.has(key)) seen.set(key, new Set());
      seen.get(key)!.add(status);
    };
    const accountViolations: string[] = [];
    let writersDone = false;

    // Each key: authorize, then a capture and a void raced against each other in a random
    // order (the engine never does that; the service must still let only one win). Some keys
    // are voided before they are authorized.
    const writers = Promise.all(
      Array.from({ length: KEYS }, async (_, i) => {
        const key = `race-${i}`;
        const c = payments[i % CHANNELS]!;
        if (random() < 0.15) await c.voidPayment({ idempotencyKey: key });
        const authorized = await c.authorizePayment({ idempotencyKey: key, customerId: "reader", amountCents: BigInt(100 + i) }).then(
          () => true,
          () => false,
        );
        const voidFirst = random() < 0.5;
        const race = voidFirst
          ? [c.voidPayment({ idempotencyKey: key }), c.capturePayment({ idempotencyKey: key })]
          : [c.capturePayment({ idempotencyKey: key }), c.voidPayment({ idempotencyKey: key })];
        const [first, second] = await Promise.allSettled(race);
        return { key, authorized, winners: [first!.status, second!.status].filter((s) => s === "fulfilled").length };
      }),
    ).finally(() => {
      writersDone = true;
    });

    // The reader: bounded in polls, and stops once the writers are done.
    const reader = (async () => {
      let polls = 0;
      for (const deadline = Date.now() + 30_000; !writersDone && polls < 2_000 && Date.now() < deadline; polls++) {
        for (const p of (await payments[polls % CHANNELS]!.listPayments({ pageSize: 1000 })).payments) note(p.idempotencyKey, p.status);
        const key = `race-${Math.floor(random() * KEYS)}`;
        const one = await payments[(polls + 1) % CHANNELS]!.getPayment({ idempotencyKey: key }).catch(() => undefined);
        if (one?.payment) note(key, one.payment.status);
        const a = (await payments[(polls + 2) % CHANNELS]!.getAccount({ customerId: "reader" })).account!;
        if (a.heldCents < 0n || a.heldCents > a.balanceCents || a.availableCents !== a.balanceCents - a.heldCents) {
          accountViolations.push(`balance ${a.balanceCents} held ${a.heldCents} available ${a.availableCents}`);
        }
      }
      return polls;
    })();

    const [results, polls] = await Promise.all([writers, reader]);
    expect(polls).toBeGreaterThan(0);
    expect(accountViolations).toEqual([]);

    const final = new Map((await payments[0]!.listPayments({ pageSize: 1000 })).payments.map((p) => [p.idempotencyKey, p.status]));
    for (const [key, status] of final) note(key, status);
    const dirtyReads: string[] = [];
    for (const { key, authorized, winners } of results) {
      const end = final.get(key);
      const statuses = seen.get(key) ?? new Set();
      // Only one of a raced capture and void may win; with no authorization, the capture is refused and the void is a no-op.
      if (authorized) expect(winners, key).toBe(1);
      if (end === PaymentStatus.VOIDED && statuses.has(PaymentStatus.CAPTURED)) dirtyReads.push(`${key} was seen CAPTURED and ends VOIDED`);
      if (end === PaymentStatus.CAPTURED && statuses.has(PaymentStatus.VOIDED)) dirtyReads.push(`${key} was seen VOIDED and ends CAPTURED`);
      expect([PaymentStatus.CAPTURED, PaymentStatus.VOIDED, PaymentStatus.CANCELLED], key).toContain(end);
    }
    expect(dirtyReads).toEqual([]);
    // Money: what left the balance is exactly what was captured, and nothing stays held.
    const captured = [...final].filter(([k, s]) => k.startsWith("race-") && s === PaymentStatus.CAPTURED).map(([k]) => 100 + Number(k.slice(5)));
    expect((await payments[0]!.getAccount({ customerId: "reader" })).account).toMatchObject({
      balanceCents: BigInt(1_000_000 - captured.reduce((s, a) => s + a, 0)),
      heldCents: 0n,
    });
  });
});
