import { describe, expect, it } from "vitest";
import { createPrng } from "./prng.js";
import { FAILING_STEP, INTENTS, MAX_UNITS_PER_ORDER, planOrders } from "./orders.js";
import { checkClientRecords, unacknowledgedByFate, type SagaView } from "./verify.js";
import type { ClientRecord } from "./client.js";

describe("seeded PRNG", () => {
  it("replays the same sequence for the same seed, and forks independently of use", () => {
    const a = createPrng(7);
    const b = createPrng(7);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
    expect(createPrng(7).fork("x").next()).toBe(a.fork("x").next());
    expect(createPrng(8).next()).not.toBe(createPrng(7).next());
    const r = createPrng(1);
    for (let i = 0; i < 1000; i++) {
      const n = r.int(3, 5);
      expect(n >= 3 && n <= 5).toBe(true);
    }
    expect(r.shuffle([1, 2, 3, 4]).sort()).toEqual([1, 2, 3, 4]);
  });
});

describe("planned orders", () => {
  const orders = planOrders(2_000, createPrng(3));
  it("are the same for the same seed and cover every intent", () => {
    expect(planOrders(2_000, createPrng(3))).toEqual(orders);
    for (const i of INTENTS) expect(orders.some((o) => o.intent === i)).toBe(true);
  });
  it("follow the demo data: successes within the unit rule, failures aimed at their step", () => {
    for (const o of orders) {
      const units = (o.body?.items ?? []).reduce((n, i) => n + i.quantity, 0);
      const products = new Set(o.body?.items.map((i) => i.productId));
      expect(products.size).toBe(o.body?.items.length ?? 0);
      switch (o.intent) {
        case "success":
          expect(o.body!.customerId).toBe("customer-1");
          expect(units).toBeGreaterThan(0);
          expect(units).toBeLessThanOrEqual(MAX_UNITS_PER_ORDER);
          expect([...products].every((p) => ["notebook", "mouse", "keyboard", "monitor"].includes(p))).toBe(true);
          break;
        case "default":
          expect(o.body).toBeUndefined();
          break;
        case "catalog":
          expect([...products].some((p) => p.startsWith("unicorn-"))).toBe(true);
          break;
        case "payments":
          expect(o.body!.customerId).toBe("customer-3");
          break;
        case "purchases":
          expect(units).toBeGreaterThan(MAX_UNITS_PER_ORDER);
          expect(products.has("webcam")).toBe(false);
          break;
        case "inventory":
          expect(products.has("webcam")).toBe(true);
          expect(units).toBeLessThanOrEqual(MAX_UNITS_PER_ORDER);
          break;
      }
    }
  });
});

describe("client-side checks", () => {
  const rec = (key: string, intent: ClientRecord["order"]["intent"], ack?: ClientRecord["ack"], seen?: string): ClientRecord => ({
    key,
    order: { intent, body: undefined },
    retries: 0,
    posts: ack ? 1 : 0,
    polls: 0,
    startedAt: 0,
    ...(ack ? { ack, seen: { status: seen ?? ack.status } } : {}),
  });
  const saga = (key: string, sagaId: string, status: string, failedStep = ""): SagaView => ({ idempotencyKey: key, sagaId, status, failedStep });

  it("accepts sagas that ended as acknowledged", () => {
    const r = checkClientRecords(
      [
        rec("k1", "success", { httpStatus: 200, sagaId: "s1", status: "COMPLETED" }),
        rec("k2", "payments", { httpStatus: 409, sagaId: "s2", status: "COMPENSATED" }),
        rec("k3", "success", { httpStatus: 202, sagaId: "s3", status: "RUNNING" }, "COMPENSATED"),
        rec("k4", "success", { httpStatus: 202, sagaId: "s4", status: "RUNNING" }),
        rec("k5", "success"),
      ],
      [
        saga("k1", "s1", "COMPLETED"),
        saga("k2", "s2", "COMPENSATED", "charge-payment"),
        saga("k3", "s3", "COMPENSATED"),
        saga("k4", "s4", "COMPLETED"),
        saga("k5", "s5", "COMPLETED"),
      ],
    );
    expect(r).toEqual({
      lost: [],
      violations: [],
      unacknowledged: 1,
      unacknowledgedSagas: [{ key: "k5", posts: 0, problem: "no acknowledgement", saga: { sagaId: "s5", status: "COMPLETED" } }],
    });
  });

  it("counts every unacknowledged saga with its fate: never sent, sent and unknown, sent and known", () => {
    const unanswered = (key: string, posts: number): ClientRecord => ({
      ...rec(key, "success"),
      posts,
      problem: `no acknowledgement after ${posts} attempts`,
    });
    const r = checkClientRecords(
      [unanswered("k1", 0), unanswered("k2", 3), unanswered("k3", 60), rec("k4", "success", { httpStatus: 200, sagaId: "s4", status: "COMPLETED" })],
      [saga("k3", "s3", "COMPENSATED"), saga("k4", "s4", "COMPLETED")],
    );
    expect(r.unacknowledged).toBe(3);
    expect(r.violations).toEqual([]);
    expect(r.lost).toEqual([]);
    expect(unacknowledgedByFate(r.unacknowledgedSagas)).toEqual({ "never sent": 1, "sent, no saga": 1, "sent, saga COMPENSATED": 1 });
    expect(r.unacknowledgedSagas.map((u) => u.key)).toEqual(["k1", "k2", "k3"]);
  });

  it("finds acknowledged sagas that are missing, renamed, unfinished or changed outcome", () => {
    const r = checkClientRecords(
      [
        rec("k1", "success", { httpStatus: 200, sagaId: "s1", status: "COMPLETED" }),
        rec("k2", "success", { httpStatus: 200, sagaId: "s2", status: "COMPLETED" }),
        rec("k3", "success", { httpStatus: 202, sagaId: "s3", status: "RUNNING" }),
        rec("k4", "success", { httpStatus: 409, sagaId: "s4", status: "COMPENSATED" }),
      ],
      [saga("k2", "other", "COMPLETED"), saga("k3", "s3", "NEEDS_ATTENTION"), saga("k4", "s4", "COMPLETED")],
    );
    expect(r.lost).toHaveLength(4);
    expect(r.lost.join("\n")).toMatch(/k1.*unknown[\s\S]*k2.*other[\s\S]*k3.*NEEDS_ATTENTION[\s\S]*k4.*COMPENSATED.*COMPLETED/);
  });

  it("flags failing orders that completed or failed later than their step, and repeats that named another saga", () => {
    const repeated = {
      ...rec("k3", "success", { httpStatus: 200, sagaId: "s3", status: "COMPLETED" }),
      repeat: { httpStatus: 200, sameSaga: false, sameStatus: true },
    };
    const twin = { ...rec("k5", "success", { httpStatus: 200, sagaId: "s5", status: "COMPLETED" }), twin: { httpStatus: 200, sagaId: "s5-bis" } };
    const r = checkClientRecords(
      [rec("k1", "inventory"), rec("k2", "payments"), repeated, rec("k4", "purchases"), twin],
      [
        saga("k1", "s1", "COMPLETED"),
        saga("k2", "s2", "COMPENSATED", "take-stock"),
        saga("k3", "s3", "COMPLETED"),
        saga("k4", "s4", "COMPENSATED", "charge-payment"),
        saga("k5", "s5", "COMPLETED"),
      ],
    );
    expect(r.lost).toEqual([]);
    expect(r.violations).toHaveLength(4);
    expect(FAILING_STEP.purchases).toBe("record-purchase");
  });
});
