import { describe, expect, it } from "vitest";
import { CancelledBeforeArrivalError, KeyReusedError } from "./idempotency.js";
import { NotCompensableError, NotConfirmableError, PendingState } from "./pending-state.js";

type Status = "HELD" | "DONE" | "UNDONE" | "REFUSED" | "TOMB";
interface Hold {
  readonly key: string;
  readonly amount: number;
  readonly status: Status;
}

/** The rules over a Map, with a counter standing for the effect the service applies. */
function setup() {
  const rows = new Map<string, Hold>();
  const effects = { held: 0, done: 0 };
  const state = new PendingState<Hold, Status>({
    what: "hold",
    confirmVerb: "settle",
    compensateVerb: "drop",
    statuses: { pending: "HELD", confirmed: "DONE", compensated: "UNDONE", refused: "REFUSED", tombstone: "TOMB" },
    records: {
      find: (key) => rows.get(key),
      insert: (r) => void rows.set(r.key, r),
      setStatus: (key, status) => void rows.set(key, { ...rows.get(key)!, status }),
    },
    tombstone: (key) => ({ key, amount: 0, status: "TOMB" }),
  });
  const act = (key: string, amount: number) =>
    state.act(
      key,
      (r) => r.amount === amount,
      () => {
        if (amount > 100) return { key, amount, status: "REFUSED" };
        effects.held += amount;
        return { key, amount, status: "HELD" };
      },
    );
  const confirm = (key: string) =>
    state.confirm(key, (r) => {
      effects.held -= r.amount;
      effects.done += r.amount;
    });
  const compensate = (key: string) => state.compensate(key, (r) => void (effects.held -= r.amount));
  return { rows, effects, act, confirm, compensate };
}

describe("PendingState", () => {
  it("action → pending; a repeat returns the first record and applies nothing again", () => {
    const s = setup();
    expect(s.act("k", 10)).toEqual({ key: "k", amount: 10, status: "HELD" });
    expect(s.act("k", 10)).toEqual({ key: "k", amount: 10, status: "HELD" });
    expect(s.effects).toEqual({ held: 10, done: 0 });
  });

  it("refuses the key with another payload, and an action after a tombstone, changing nothing", () => {
    const s = setup();
    s.act("k", 10);
    expect(() => s.act("k", 11)).toThrow(KeyReusedError);
    expect(s.compensate("t")).toEqual({ key: "t", amount: 0, status: "TOMB" });
    expect(() => s.act("t", 10)).toThrow(CancelledBeforeArrivalError);
    expect(s.effects).toEqual({ held: 10, done: 0 });
    expect([...s.rows.values()].map((r) => r.status)).toEqual(["HELD", "TOMB"]);
  });

  it("confirmation: pending → confirmed once; a repeat is a no-op", () => {
    const s = setup();
    s.act("k", 10);
    expect(s.confirm("k").status).toBe("DONE");
    expect(s.confirm("k").status).toBe("DONE");
    expect(s.effects).toEqual({ held: 0, done: 10 });
    expect(s.act("k", 10).status).toBe("DONE");
  });

  it.each([
    ["no record", (_: ReturnType<typeof setup>) => undefined, 'cannot settle hold "k": there is none'],
    ["a compensated record", (s: ReturnType<typeof setup>) => (s.act("k", 10), s.compensate("k")), 'cannot settle hold "k": it is UNDONE'],
    ["a refused record", (s: ReturnType<typeof setup>) => s.act("k", 500), 'cannot settle hold "k": it is REFUSED'],
    ["a tombstone", (s: ReturnType<typeof setup>) => s.compensate("k"), 'cannot settle hold "k": it is TOMB'],
  ])("refuses to confirm %s, changing nothing", (_, arrange, message) => {
    const s = setup();
    arrange(s);
    const before = { rows: new Map(s.rows), effects: { ...s.effects } };
    expect(() => s.confirm("k")).toThrow(NotConfirmableError);
    expect(() => s.confirm("k")).toThrow(message);
    expect(s.rows).toEqual(before.rows);
    expect(s.effects).toEqual(before.effects);
  });

  it("compensation: pending → compensated once; refused and tombstone records are left as they are", () => {
    const s = setup();
    s.act("k", 10);
    expect(s.compensate("k").status).toBe("UNDONE");
    expect(s.compensate("k").status).toBe("UNDONE");
    expect(s.effects).toEqual({ held: 0, done: 0 });
    s.act("r", 500);
    expect(s.compensate("r").status).toBe("REFUSED");
    expect(s.compensate("t").status).toBe("TOMB");
    expect(s.compensate("t").status).toBe("TOMB");
  });

  it("refuses to compensate a confirmed record, changing nothing", () => {
    const s = setup();
    s.act("k", 10);
    s.confirm("k");
    expect(() => s.compensate("k")).toThrow(NotCompensableError);
    expect(() => s.compensate("k")).toThrow('cannot drop hold "k": it is DONE, which is final');
    expect(s.rows.get("k")?.status).toBe("DONE");
    expect(s.effects).toEqual({ held: 0, done: 10 });
  });
});
