import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { CancelledBeforeArrivalError, KeyReusedError } from "#platform/idempotency.js";
import { openDatabase } from "#platform/sqlite.js";
import { DEMO_ACCOUNTS } from "./demo-data.js";
import { PaymentDeclinedError, PaymentNotFoundError, UnknownCustomerError } from "./errors.js";
import { SqlitePaymentStore } from "./payment-store.js";
import { Payments, type Account } from "./payments.js";

const ACCOUNTS: Account[] = [
  { customerId: "alice", balanceCents: 10_000 },
  { customerId: "bob", balanceCents: 500 },
];

function setup(accounts: readonly Account[] = ACCOUNTS) {
  const store = new SqlitePaymentStore(openDatabase(":memory:"));
  store.seedIfEmpty(accounts);
  return { store, payments: new Payments(store) };
}

const balance = (p: Payments, id: string) => p.getAccount(id).balanceCents;

/** Balances plus charged-and-not-refunded payments: must always equal the initial sum. */
function money(p: Payments): number {
  const balances = p.listAccounts().reduce((s, a) => s + a.balanceCents, 0);
  const charged = p
    .listPayments(undefined, 10_000)
    .filter((r) => r.status === "CHARGED")
    .reduce((s, r) => s + r.amountCents, 0);
  return balances + charged;
}

describe("Payments.process", () => {
  it("debits the account and records CHARGED", async () => {
    const { payments } = setup();
    const p = await payments.process({ key: "k1", customerId: "alice", amountCents: 2_500 });
    expect(p).toMatchObject({ key: "k1", customerId: "alice", amountCents: 2_500, status: "CHARGED" });
    expect(balance(payments, "alice")).toBe(7_500);
    expect(payments.getPayment("k1").status).toBe("CHARGED");
  });

  it("may take the whole balance", async () => {
    const { payments } = setup();
    await payments.process({ key: "k1", customerId: "bob", amountCents: 500 });
    expect(balance(payments, "bob")).toBe(0);
  });

  it("returns the first record on a repeat and charges once", async () => {
    const { payments } = setup();
    const first = await payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 });
    const again = await payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 });
    expect(again).toEqual(first);
    expect(balance(payments, "alice")).toBe(9_000);
  });

  it("charges once when the same key arrives twice in one batch", async () => {
    const { payments } = setup();
    const req = { key: "k1", customerId: "alice", amountCents: 1_000 };
    const [a, b] = await Promise.all([payments.process(req), payments.process(req)]);
    expect(a).toEqual(b);
    expect(balance(payments, "alice")).toBe(9_000);
  });

  it("refuses the same key with another amount or customer, changing nothing", async () => {
    const { payments } = setup();
    await payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 });
    await expect(payments.process({ key: "k1", customerId: "alice", amountCents: 1_001 })).rejects.toBeInstanceOf(KeyReusedError);
    await expect(payments.process({ key: "k1", customerId: "bob", amountCents: 1_000 })).rejects.toBeInstanceOf(KeyReusedError);
    expect(balance(payments, "alice")).toBe(9_000);
    expect(balance(payments, "bob")).toBe(500);
    expect(payments.getPayment("k1").amountCents).toBe(1_000);
  });

  it("records nothing for an unknown customer", async () => {
    const { payments } = setup();
    await expect(payments.process({ key: "k1", customerId: "carol", amountCents: 1 })).rejects.toBeInstanceOf(UnknownCustomerError);
    expect(() => payments.getPayment("k1")).toThrow(PaymentNotFoundError);
    expect(payments.listPayments(undefined, 10)).toEqual([]);
  });

  it("records DECLINED on insufficient funds and moves nothing", async () => {
    const { payments } = setup();
    await expect(payments.process({ key: "k1", customerId: "bob", amountCents: 501 })).rejects.toBeInstanceOf(PaymentDeclinedError);
    expect(payments.getPayment("k1").status).toBe("DECLINED");
    expect(balance(payments, "bob")).toBe(500);
  });

  it("keeps a declined payment declined, with the same message, even after funds arrive", async () => {
    const { payments } = setup();
    await payments.process({ key: "k1", customerId: "bob", amountCents: 300 });
    const first = await payments.process({ key: "k2", customerId: "bob", amountCents: 400 }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(PaymentDeclinedError);
    await payments.cancel("k1"); // bob is back to 500, enough for 400
    const again = await payments.process({ key: "k2", customerId: "bob", amountCents: 400 }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(PaymentDeclinedError);
    expect((again as Error).message).toBe((first as Error).message);
    expect(balance(payments, "bob")).toBe(500);
    expect(payments.getPayment("k2").status).toBe("DECLINED");
  });

  it("returns the REFUNDED record for a repeat after a refund, without charging again", async () => {
    const { payments } = setup();
    await payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 });
    await payments.cancel("k1");
    const again = await payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 });
    expect(again.status).toBe("REFUNDED");
    expect(balance(payments, "alice")).toBe(10_000);
  });
});

describe("Payments.cancel", () => {
  it("refunds a charge once, however often it is repeated", async () => {
    const { payments } = setup();
    await payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 });
    const first = await payments.cancel("k1");
    const again = await payments.cancel("k1");
    expect(first.status).toBe("REFUNDED");
    expect(again).toEqual(first);
    expect(balance(payments, "alice")).toBe(10_000);
  });

  it("leaves a tombstone when it comes first, and the late charge is refused", async () => {
    const { payments } = setup();
    const tombstone = await payments.cancel("k1");
    expect(tombstone).toMatchObject({ key: "k1", status: "CANCELLED" });
    await expect(payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 })).rejects.toThrow(
      /was cancelled before it arrived/,
    );
    await expect(payments.process({ key: "k1", customerId: "alice", amountCents: 1_000 })).rejects.toBeInstanceOf(
      CancelledBeforeArrivalError,
    );
    expect(balance(payments, "alice")).toBe(10_000);
    expect(await payments.cancel("k1")).toEqual(tombstone);
    expect(payments.getPayment("k1").status).toBe("CANCELLED");
  });

  it("changes nothing on a DECLINED payment", async () => {
    const { payments } = setup();
    await payments.process({ key: "k1", customerId: "bob", amountCents: 900 }).catch(() => undefined);
    const cancelled = await payments.cancel("k1");
    expect(cancelled.status).toBe("DECLINED");
    expect(balance(payments, "bob")).toBe(500);
  });
});

describe("Payments money", () => {
  it("is conserved across a sequence of charges, repeats, refunds and refusals", async () => {
    const { payments } = setup();
    const initial = money(payments);
    await payments.process({ key: "a", customerId: "alice", amountCents: 3_000 });
    await payments.process({ key: "b", customerId: "bob", amountCents: 400 });
    await payments.process({ key: "c", customerId: "bob", amountCents: 400 }).catch(() => undefined);
    await payments.process({ key: "a", customerId: "alice", amountCents: 3_000 });
    await payments.cancel("b");
    await payments.cancel("b");
    await payments.cancel("d");
    await payments.process({ key: "d", customerId: "alice", amountCents: 1 }).catch(() => undefined);
    await payments.process({ key: "e", customerId: "zed", amountCents: 1 }).catch(() => undefined);
    expect(money(payments)).toBe(initial);
    expect(balance(payments, "alice")).toBe(7_000);
    expect(balance(payments, "bob")).toBe(500);
  });

  it("keeps balances + charged = initial under random actions, repeats and compensations", async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant("process" as const),
        key: fc.constantFrom("k1", "k2", "k3"),
        customerId: fc.constantFrom("alice", "bob", "nobody"),
        amountCents: fc.integer({ min: 1, max: 6_000 }),
      }),
      fc.record({ kind: fc.constant("cancel" as const), key: fc.constantFrom("k1", "k2", "k3") }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { maxLength: 12 }), async (turns) => {
        const { payments, store } = setup();
        const initial = money(payments);
        const cancelledFirst = new Set<string>();
        const seen = new Set<string>();
        for (const turn of turns) {
          // Ops of one turn run concurrently, so they share one write batch.
          await Promise.allSettled(
            turn.map((o) => {
              if (!seen.has(o.key) && o.kind === "cancel") cancelledFirst.add(o.key);
              seen.add(o.key);
              return o.kind === "cancel" ? payments.cancel(o.key) : payments.process(o);
            }),
          );
          expect(money(payments)).toBe(initial);
          for (const a of payments.listAccounts()) expect(a.balanceCents).toBeGreaterThanOrEqual(0);
        }
        for (const key of cancelledFirst) expect(payments.getPayment(key).status).toBe("CANCELLED");
        store.close();
      }),
      { numRuns: 150 },
    );
  });
});

describe("SqlitePaymentStore on a file", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("keeps its data after close and reopen, and seeds only once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "payments-"));
    dirs.push(dir);
    const path = join(dir, "payments.db");

    const first = new SqlitePaymentStore(openDatabase(path, "power"));
    expect(first.seedIfEmpty(DEMO_ACCOUNTS)).toBe(true);
    await new Payments(first).process({ key: "k1", customerId: "customer-2", amountCents: 100_000 });
    first.close();

    const second = new SqlitePaymentStore(openDatabase(path, "power"));
    expect(second.seedIfEmpty(DEMO_ACCOUNTS)).toBe(false);
    const payments = new Payments(second);
    expect(payments.getAccount("customer-2").balanceCents).toBe(400_000);
    expect(payments.getPayment("k1").status).toBe("CHARGED");
    expect(payments.listAccounts()).toHaveLength(DEMO_ACCOUNTS.length);
    second.close();
  });
});
