import { describe, expect, it } from "vitest";
import {
  IdempotencyConflictError,
  InvalidOperatorNoteError,
  InvalidPageTokenError,
  SagaLimitError,
  SagaNotFoundError,
  SagaStateError,
  UnknownDefinitionError,
} from "./errors.js";
import type { Json } from "./json.js";
import { createRunner, type Runner, type RunnerOptions } from "./runner.js";
import { defineSaga, type SagaDefinition, step } from "./saga.js";
import type { SagaEvent, SagaHeader } from "./saga-record.js";
import { type CreateResult, InMemorySagaStore, type SagaListQuery, type SagaStore, type StoredSaga } from "./saga-store.js";

class Transient extends Error {}
class Business extends Error {}

type Outcome = "ok" | "transient" | "business" | "hang";

/** Fake steps driven by scripts: each call takes the next outcome (the last one repeats). */
class Script {
  readonly calls: string[] = [];
  readonly applied = new Map<string, number>();
  readonly actions = new Map<string, Outcome[]>();
  readonly compensations = new Map<string, Outcome[]>();
  readonly confirmations = new Map<string, Outcome[]>();
  /** Confirmations that took effect, by key (a confirm is idempotent: a repeat still counts here). */
  readonly confirmed = new Map<string, number>();

  next(map: Map<string, Outcome[]>, name: string): Outcome {
    const list = map.get(name);
    if (!list || list.length === 0) return "ok";
    return list.length > 1 ? list.shift()! : list[0]!;
  }

  /** The test saga; with `confirms`, every compensable step also has a confirmation. */
  definition(name = "order", version = 1, options: { deadlineMs?: number; tag?: string; confirms?: boolean } = {}): SagaDefinition<{ n: number }> {
    const tag = options.tag ?? "";
    const make = (s: string, compensable: boolean) =>
      step<{ n: number }>(
        s,
        async (ctx) => {
          this.calls.push(`${tag}do:${s}:${ctx.attempt}`);
          expect(ctx.key).toBe(`${ctx.sagaId}:${s}`);
          const o = this.next(this.actions, s);
          if (o === "hang") return new Promise<Json>(() => {});
          if (o === "business") throw new Business(`${s} refused`);
          this.applied.set(ctx.key, (this.applied.get(ctx.key) ?? 0) + 1);
          if (o === "transient") throw new Transient(`${s} lost reply`);
          return { step: s, n: ctx.input.n, seen: Object.keys(ctx.results).length };
        },
        {
          ...(compensable && {
            compensate: async (ctx) => {
              this.calls.push(`${tag}undo:${s}:${ctx.attempt}`);
              const o = this.next(this.compensations, s);
              if (o === "hang") return new Promise<void>(() => {});
              if (o === "transient") throw new Transient(`${s} undo failed`);
              if (o === "business") throw new Business(`${s} undo refused`);
            },
          }),
          ...(compensable &&
            options.confirms && {
              confirm: async (ctx) => {
                this.calls.push(`${tag}confirm:${s}:${ctx.attempt}`);
                if (Object.keys(ctx.results).length !== 4) throw new Error(`confirm of ${s} saw ${Object.keys(ctx.results).length} results`);
                const o = this.next(this.confirmations, s);
                if (o === "hang") return new Promise<void>(() => {});
                if (o === "business") throw new Business(`${s} confirm refused`);
                this.confirmed.set(ctx.key, (this.confirmed.get(ctx.key) ?? 0) + 1);
                if (o === "transient") throw new Transient(`${s} confirm reply lost`);
              },
            }),
          retry: { maxAttempts: 3, initialDelayMs: 0, timeoutMs: 1_000 },
          compensationRetry: { attentionAfter: 3, initialDelayMs: 0, timeoutMs: 1_000 },
          confirmationRetry: { attentionAfter: 3, initialDelayMs: 0, timeoutMs: 1_000 },
        },
      );
    return defineSaga(name, version, [make("lookup", false), make("charge", true), make("reserve", true), make("ship", true)], options);
  }
}

function runnerOn(store: SagaStore, definitions: SagaDefinition<any>[], extra: Partial<RunnerOptions> = {}): Runner {
  return createRunner({
    store,
    definitions,
    isRetryable: (e) => e instanceof Transient,
    describeError: (e) => ({
      code: e instanceof Transient ? "UNAVAILABLE" : e instanceof Business ? "FAILED_PRECONDITION" : "UNKNOWN",
      message: (e as Error).message,
    }),
    sleep: async () => {},
    random: () => 0.5,
    ...extra,
  });
}

async function run(runner: Runner, input: Json = { n: 1 }) {
  const { saga } = await runner.start("order", { input });
  await runner.idle();
  return (await runner.get(saga.sagaId))!;
}

const STEPS = ["lookup", "charge", "reserve", "ship"];
const OPERATOR = { actor: "ops@example.com", reason: "the payments service is back" };

describe("runner", () => {
  it("completes a saga whose steps all succeed, passing earlier results on", async () => {
    const script = new Script();
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const saga = await run(runner);
    expect(saga.status).toBe("COMPLETED");
    expect(script.calls).toEqual(STEPS.map((s) => `do:${s}:1`));
    expect(saga.results["ship"]).toEqual({ step: "ship", n: 1, seen: 3 });
    expect(saga.steps.map((s) => [s.name, s.phase, s.status, s.attempts])).toEqual(STEPS.map((s) => [s, "action", "SUCCEEDED", 1]));
  });

  it.each([1, 2, 3, 4])("a business failure at step %i compensates the started steps in reverse, itself included", async (n) => {
    const script = new Script();
    script.actions.set(STEPS[n - 1]!, ["business"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const saga = await run(runner);
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.failedStep).toBe(STEPS[n - 1]);
    expect(saga.error).toEqual({ code: "FAILED_PRECONDITION", message: `${STEPS[n - 1]} refused` });
    const started = STEPS.slice(0, n);
    const undone = started.filter((s) => s !== "lookup").reverse();
    expect(script.calls).toEqual([...started.map((s) => `do:${s}:1`), ...undone.map((s) => `undo:${s}:1`)]);
  });

  it("retries transient errors with backoff, then succeeds", async () => {
    const script = new Script();
    script.actions.set("charge", ["transient", "transient", "ok"]);
    const delays: number[] = [];
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()], {
      sleep: async (ms) => void delays.push(ms),
    });
    const saga = await run(runner);
    expect(saga.status).toBe("COMPLETED");
    expect(script.calls.filter((c) => c.startsWith("do:charge"))).toEqual(["do:charge:1", "do:charge:2", "do:charge:3"]);
    expect(saga.steps.find((s) => s.name === "charge")).toMatchObject({ attempts: 3, status: "SUCCEEDED" });
    expect(delays).toEqual([]); // initialDelayMs 0: no sleep at all
  });

  it("backs off exponentially with full jitter", async () => {
    const script = new Script();
    script.actions.set("charge", ["transient", "transient", "ok"]);
    const delays: number[] = [];
    const def = script.definition();
    def.steps[1]!.retry = { ...def.steps[1]!.retry, initialDelayMs: 100, backoffRate: 2, maxDelayMs: 150 };
    const runner = runnerOn(new InMemorySagaStore(), [def], { sleep: async (ms) => void delays.push(ms), random: () => 0.5 });
    await run(runner);
    expect(delays).toEqual([50, 75]); // 0.5·min(150, 100), 0.5·min(150, 200)
  });

  it("compensates a step whose retries ran out while still transient (unknown outcome)", async () => {
    const script = new Script();
    script.actions.set("reserve", ["transient"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const saga = await run(runner);
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.failedStep).toBe("reserve");
    expect(saga.error?.code).toBe("UNAVAILABLE");
    expect(saga.error?.message).toMatch(/outcome unknown after 3 attempts/);
    expect(script.calls.slice(-2)).toEqual(["undo:reserve:1", "undo:charge:1"]);
  });

  it("retries a compensation that fails twice, then succeeds", async () => {
    const script = new Script();
    script.actions.set("reserve", ["business"]);
    script.compensations.set("charge", ["transient", "business", "ok"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const saga = await run(runner);
    expect(saga.status).toBe("COMPENSATED");
    expect(script.calls.filter((c) => c.startsWith("undo:charge"))).toEqual(["undo:charge:1", "undo:charge:2", "undo:charge:3"]);
    expect(saga.steps.at(-1)).toMatchObject({ name: "charge", phase: "compensation", status: "SUCCEEDED", attempts: 3 });
  });

  it("leaves a saga NEEDS_ATTENTION when a compensation runs out of attempts; retry() finishes it", async () => {
    const script = new Script();
    script.actions.set("ship", ["business"]);
    script.compensations.set("reserve", ["transient"]);
    const store = new InMemorySagaStore();
    const runner = runnerOn(store, [script.definition()]);
    const saga = await run(runner);
    expect(saga.status).toBe("NEEDS_ATTENTION");
    expect(saga.steps.at(-1)).toMatchObject({ name: "reserve", phase: "compensation", status: "FAILED", attempts: 3 });
    expect(script.calls.filter((c) => c.startsWith("undo:charge"))).toEqual([]); // not skipped past
    const listed = await runner.list({ statuses: ["NEEDS_ATTENTION"] });
    expect(listed.sagas.map((s) => s.sagaId)).toEqual([saga.sagaId]);
    expect(await store.unfinished()).toEqual([]);

    script.compensations.set("reserve", ["ok"]);
    const retried = await runner.retry(saga.sagaId, OPERATOR);
    expect(retried.status).toBe("COMPENSATING");
    await runner.idle();
    const done = (await runner.get(saga.sagaId))!;
    expect(done.status).toBe("COMPENSATED");
    expect(script.calls.slice(-2)).toEqual(["undo:reserve:1", "undo:charge:1"]);
    await expect(runner.retry(saga.sagaId, OPERATOR)).rejects.toBeInstanceOf(SagaStateError);
    await expect(runner.retry("nope", OPERATOR)).rejects.toBeInstanceOf(SagaNotFoundError);
  });

  it("lets an operator retry a saga the moment it turns NEEDS_ATTENTION, while its drive winds down", async () => {
    const script = new Script();
    script.actions.set("ship", ["business"]);
    script.compensations.set("reserve", ["transient", "transient", "transient", "ok"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const retried = new Promise<string>((resolve, reject) => {
      runner.subscribe(undefined, (e) => {
        if (e.kind === "saga-needs-attention") runner.retry(e.sagaId, OPERATOR).then((r) => resolve(r.status), reject);
      });
    });
    const { saga } = await runner.start("order", { input: { n: 1 } });
    expect(await retried).toBe("COMPENSATING");
    await runner.idle();
    expect((await runner.get(saga.sagaId))!.status).toBe("COMPENSATED");
  });

  it("turns a RUNNING saga past its deadline to compensation", async () => {
    let clock = 1_000;
    const script = new Script();
    const def = script.definition("order", 1, { deadlineMs: 500 });
    const charge = def.steps[1]!;
    const action = charge.action;
    charge.action = async (ctx) => {
      clock += 600; // the call takes longer than the saga may live
      return action(ctx);
    };
    const runner = runnerOn(new InMemorySagaStore(), [def], { now: () => clock });
    const saga = await run(runner);
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.error?.code).toBe("DEADLINE_EXCEEDED");
    expect(saga.failedStep).toBeUndefined(); // caught between steps: reserve never started
    expect(script.calls).toEqual(["do:lookup:1", "do:charge:1", "undo:charge:1"]);
  });

  it("stops retrying a step once the deadline passed", async () => {
    let clock = 0;
    const script = new Script();
    const def = script.definition("order", 1, { deadlineMs: 500 });
    script.actions.set("reserve", ["transient"]);
    const runner = runnerOn(new InMemorySagaStore(), [def], {
      now: () => clock,
      sleep: async (ms) => void (clock += ms + 1_000),
    });
    def.steps[2]!.retry.initialDelayMs = 10;
    const saga = await run(runner);
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.failedStep).toBe("reserve");
    expect(saga.error?.code).toBe("DEADLINE_EXCEEDED");
  });

  it("times a hanging call out and treats it as transient", async () => {
    const script = new Script();
    script.actions.set("charge", ["hang", "ok"]);
    const def = script.definition();
    def.steps[1]!.retry.timeoutMs = 5;
    let aborted = false;
    const action = def.steps[1]!.action;
    def.steps[1]!.action = (ctx) => {
      ctx.signal.addEventListener("abort", () => (aborted = true));
      return action(ctx);
    };
    const saga = await run(runnerOn(new InMemorySagaStore(), [def]));
    expect(saga.status).toBe("COMPLETED");
    expect(aborted).toBe(true);
    expect(saga.steps[1]).toMatchObject({ attempts: 2, lastError: { code: "DEADLINE_EXCEEDED" } });
  });

  it("fails a step whose output is not plain JSON", async () => {
    const script = new Script();
    const def = script.definition();
    def.steps[1]!.action = async () => ({ big: 1n }) as unknown as Json;
    const saga = await run(runnerOn(new InMemorySagaStore(), [def]));
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.error?.code).toBe("INTERNAL");
  });

  it("returns the same saga for a repeated idempotency key, and refuses another request under it", async () => {
    const script = new Script();
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const a = await runner.start("order", { idempotencyKey: "k1", input: { n: 1 } });
    const b = await runner.start("order", { idempotencyKey: "k1", input: { n: 1 } });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.saga.sagaId).toBe(a.saga.sagaId);
    await expect(runner.start("order", { idempotencyKey: "k1", input: { n: 2 } })).rejects.toBeInstanceOf(IdempotencyConflictError);
    const c = await runner.start("order", { idempotencyKey: "", input: { n: 1 } });
    const d = await runner.start("order", { input: { n: 1 } });
    expect(new Set([a.saga.sagaId, c.saga.sagaId, d.saga.sagaId]).size).toBe(3);
    await expect(runner.start("nope", { input: null })).rejects.toBeInstanceOf(UnknownDefinitionError);
    await runner.idle();
    expect(script.calls.filter((x) => x === "do:ship:1")).toHaveLength(3);
  });

  it("gives concurrent starts with one key exactly one saga", async () => {
    const script = new Script();
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const all = await Promise.all([1, 2, 3].map(() => runner.start("order", { idempotencyKey: "same", input: { n: 1 } })));
    expect(all.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(all.map((r) => r.saga.sagaId)).size).toBe(1);
  });

  it("starts on the highest version and finishes a resumed saga on the version it started with", async () => {
    const v1 = new Script();
    const v2 = new Script();
    // Durable: created, lookup started, lookup succeeded. The rest was carried to the final
    // commit, which never lands: the old runner sent every step, and the resumed one sends
    // again (same keys) those whose successes are not in the log.
    const store = new CrashingStore(new InMemorySagaStore(), 3);
    const old = runnerOn(store, [v1.definition("order", 1, { tag: "v1:" })]);
    const { saga } = await old.start("order", { input: { n: 1 } });
    expect(saga.definitionVersion).toBe(1);
    await store.crashed;

    const onlyV2 = runnerOn(store.inner, [v2.definition("order", 2, { tag: "v2:" })]);
    expect(await onlyV2.resumePending()).toBe(0); // v1 unknown here: left untouched

    const both = runnerOn(store.inner, [v1.definition("order", 1, { tag: "v1:" }), v2.definition("order", 2, { tag: "v2:" })]);
    expect(await both.resumePending()).toBe(1);
    await both.idle();
    expect((await both.get(saga.sagaId))?.status).toBe("COMPLETED");
    expect(v1.calls).toEqual([
      ...["v1:do:lookup:1", "v1:do:charge:1", "v1:do:reserve:1", "v1:do:ship:1"],
      ...["v1:do:charge:1", "v1:do:reserve:1", "v1:do:ship:1"],
    ]);
    expect(v2.calls).toEqual([]);
    const fresh = await both.start("order", { input: { n: 2 } });
    expect(fresh.saga.definitionVersion).toBe(2);
  });

  it("lists newest first, with filters and opaque page tokens", async () => {
    let clock = 100;
    const script = new Script();
    script.actions.set("charge", ["business", "ok", "business", "ok", "business", "ok", "ok"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()], { now: () => clock });
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      clock = 100 + i * 10;
      ids.push((await run(runner, { n: i })).sagaId);
    }
    const seen: string[] = [];
    let token = "";
    do {
      const page = await runner.list({ pageSize: 3, pageToken: token });
      expect(page.sagas.length).toBeLessThanOrEqual(3);
      seen.push(...page.sagas.map((s) => s.sagaId));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual([...ids].reverse());
    const compensated = await runner.list({ statuses: ["COMPENSATED"] });
    expect(compensated.sagas.map((s) => s.sagaId)).toEqual([ids[4], ids[2], ids[0]]);
    const window = await runner.list({ createdAfter: 120, createdBefore: 150 });
    expect(window.sagas.map((s) => s.sagaId)).toEqual([ids[4], ids[3], ids[2]]);
    await expect(runner.list({ pageToken: "not a token" })).rejects.toBeInstanceOf(InvalidPageTokenError);
    await expect(runner.list({ pageToken: "Zm9v" })).rejects.toBeInstanceOf(InvalidPageTokenError);
  });

  it("tells subscribers every transition after it is durable", async () => {
    const store = new InMemorySagaStore();
    const script = new Script();
    script.actions.set("reserve", ["transient", "business"]);
    const runner = runnerOn(store, [script.definition()]);
    const all: SagaEvent[] = [];
    const stopAll = runner.subscribe(undefined, (e) => all.push(e));
    const { saga } = await runner.start("order", { input: { n: 1 } });
    // Collected here and checked below: an expect() inside a listener would throw into the
    // runner, which logs and drops listener errors, so it could never fail the test.
    const mine: SagaEvent[] = [];
    runner.subscribe(saga.sagaId, (e) => void mine.push(e));
    await runner.idle();
    stopAll();
    expect(all.map((e) => e.kind)).toEqual([
      "saga-created",
      "step-started",
      "step-succeeded",
      "step-started",
      "step-succeeded",
      "step-started",
      "step-attempt-failed",
      "step-failed",
      "compensation-started",
      "compensation-succeeded",
      "compensation-started",
      "compensation-succeeded",
      "saga-compensated",
    ]);
    // Subscribed after start() resolved: a suffix of the whole stream, ending at the terminal event.
    expect(mine.length).toBeGreaterThan(0);
    expect(mine).toEqual(all.slice(all.length - mine.length));
    const firstSequence = mine[0]!.sequence;
    expect(firstSequence).toBeGreaterThan(1); // the creation was published before subscribe()
    expect(mine.map((e) => e.sequence)).toEqual(mine.map((_, i) => firstSequence + i));
    const logged = (await store.load(saga.sagaId))!.events;
    expect(logged).toEqual(all);
  });

  it("waits for a terminal status, or returns the current record at the timeout", async () => {
    const script = new Script();
    script.actions.set("ship", ["hang"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const { saga } = await runner.start("order", { input: { n: 1 } });
    const early = await runner.wait(saga.sagaId, 1);
    expect(early?.status).toBe("RUNNING");
    expect(await runner.wait("unknown", 1)).toBeUndefined();
    await runner.close();
  });

  it("refuses starts past maxInFlight", async () => {
    const script = new Script();
    script.actions.set("lookup", ["hang"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()], { maxInFlight: 2 });
    await runner.start("order", { input: { n: 1 } });
    await runner.start("order", { input: { n: 2 } });
    expect(runner.inFlight()).toBe(2);
    await expect(runner.start("order", { input: { n: 3 } })).rejects.toBeInstanceOf(SagaLimitError);
    await runner.close();
    expect(runner.inFlight()).toBe(0);
    await expect(runner.start("order", { input: { n: 3 } })).rejects.toBeInstanceOf(SagaStateError);
  });

  it("a resumed saga that turns to compensation first arms the steps its log does not show, and keeps them armed", async () => {
    // The first runner sends lookup, charge and reserve; only the creation is durable, and
    // reserve hangs. The next runner starts after the saga's deadline: it cannot tell which
    // steps were sent, so it arms every compensable step after the last one it knows of.
    let clock = 0;
    const store = new InMemorySagaStore();
    const script = new Script();
    script.actions.set("reserve", ["hang"]);
    script.compensations.set("charge", ["business", "business", "business", "ok"]);
    const def = () => script.definition("order", 1, { deadlineMs: 1_000 });
    const first = runnerOn(store, [def()], { now: () => clock });
    const { saga } = await first.start("order", { input: { n: 1 } });
    await new Promise((r) => setImmediate(r));
    await first.close();
    expect(script.calls).toEqual(["do:lookup:1", "do:charge:1", "do:reserve:1"]);

    clock = 5_000;
    const second = runnerOn(store, [def()], { now: () => clock });
    expect(await second.resumePending()).toBe(1);
    await second.idle();
    // The charge's compensation runs out of attempts: NEEDS_ATTENTION after ship and reserve.
    const stuck = await second.get(saga.sagaId);
    expect(stuck?.status).toBe("NEEDS_ATTENTION");
    expect(stuck?.steps.filter((s) => s.phase === "action").map((s) => s.name)).toEqual(["charge", "reserve", "ship"]);

    // An operator retry (in yet another runner) still compensates charge, whose arm is logged.
    const third = runnerOn(store, [def()], { now: () => clock });
    await third.retry(saga.sagaId, OPERATOR);
    await third.idle();
    expect((await third.get(saga.sagaId))?.status).toBe("COMPENSATED");
    expect(script.calls.slice(3)).toEqual(["undo:ship:1", "undo:reserve:1", "undo:charge:1", "undo:charge:2", "undo:charge:3", "undo:charge:1"]);
  });

  it("close() leaves unfinished sagas in the log, and the next runner finishes them", async () => {
    const store = new InMemorySagaStore();
    const script = new Script();
    script.actions.set("reserve", ["hang", "ok"]);
    const first = runnerOn(store, [script.definition()]);
    const { saga } = await first.start("order", { input: { n: 1 } });
    await new Promise((r) => setImmediate(r));
    await first.close();
    expect((await first.get(saga.sagaId))?.status).toBe("RUNNING");
    const second = runnerOn(store, [script.definition()]);
    expect(await second.resumePending()).toBe(1);
    await second.idle();
    expect((await second.get(saga.sagaId))?.status).toBe("COMPLETED");
    // Only the creation was durable (starts and successes are carried): the next runner sends
    // lookup and charge again with the same keys, then the reserve that hung, then ship.
    expect(script.calls).toEqual(["do:lookup:1", "do:charge:1", "do:reserve:1", "do:lookup:1", "do:charge:1", "do:reserve:1", "do:ship:1"]);
  });
});

/** A store that "crashes" after `writes` durable writes: every later write hangs forever. */
class CrashingStore implements SagaStore {
  #left: number;
  #crash!: () => void;
  readonly crashed = new Promise<void>((r) => (this.#crash = r));
  constructor(
    readonly inner: SagaStore,
    writes: number,
  ) {
    this.#left = writes;
  }
  #write<T>(go: () => Promise<T>): Promise<T> {
    if (this.#left <= 0) {
      this.#crash();
      return new Promise<T>(() => {});
    }
    this.#left--;
    return go();
  }
  create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    return this.#write(() => this.inner.create(header, first));
  }
  append(event: SagaEvent): Promise<void> {
    return this.#write(() => this.inner.append(event));
  }
  load(sagaId: string): Promise<StoredSaga | undefined> {
    return this.inner.load(sagaId);
  }
  list(query: SagaListQuery): Promise<StoredSaga[]> {
    return this.inner.list(query);
  }
  unfinished(): Promise<string[]> {
    return this.inner.unfinished();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe("crash and recovery", () => {
  /** Scenarios: outcome scripts, and the number of writes a clean run makes. */
  const scenarios: [string, (s: Script) => void, "COMPLETED" | "COMPENSATED"][] = [
    ["success", () => {}, "COMPLETED"],
    ["business failure at reserve", (s) => s.actions.set("reserve", ["business"]), "COMPENSATED"],
    [
      "transient retries and a flaky compensation",
      (s) => {
        s.actions.set("charge", ["transient", "ok"]);
        s.actions.set("ship", ["transient", "business"]);
        s.compensations.set("reserve", ["transient", "ok"]);
      },
      "COMPENSATED",
    ],
  ];

  for (const [name, setup, expected] of scenarios) {
    it(`${name}: a crash after every write resumes without calling a succeeded step twice`, async () => {
      const clean = new Script();
      setup(clean);
      const cleanStore = new InMemorySagaStore();
      const cleanSaga = await run(runnerOn(cleanStore, [clean.definition()]));
      expect(cleanSaga.status).toBe(expected);
      const total = (await cleanStore.load(cleanSaga.sagaId))!.events.length;

      for (let n = 1; n < total; n++) {
        const script = new Script();
        setup(script);
        const store = new CrashingStore(new InMemorySagaStore(), n);
        const old = runnerOn(store, [script.definition()]);
        const started = old.start("order", { idempotencyKey: "order-1", input: { n: 1 } });
        await store.crashed; // the old runner is abandoned from here on
        await new Promise((r) => setImmediate(r));
        const succeededBefore = new Set(
          ((await store.inner.load((await started).saga.sagaId))?.events ?? []).filter((e) => e.kind === "step-succeeded").map((e) => e.step),
        );
        const callsBefore = script.calls.length;

        const next = runnerOn(store.inner, [script.definition()]);
        expect(await next.resumePending()).toBe(1);
        await next.idle();
        const saga = (await next.get((await started).saga.sagaId))!;
        expect(saga.status, `crash after write ${n}`).toBe(expected);
        const after = script.calls.slice(callsBefore);
        for (const s of succeededBefore) {
          expect(
            after.filter((c) => c.startsWith(`do:${s}:`)),
            `step ${s} ran again after crash at ${n}`,
          ).toEqual([]);
        }
        if (expected === "COMPLETED") expect(Object.keys(saga.results)).toEqual(STEPS);
      }
    });
  }
});

/**
 * Counts durable writes as the runner makes them: the appends one emit issues together (in
 * one synchronous run, so one group commit in a real store) count as one write.
 */
class WriteCountingStore extends InMemorySagaStore {
  writes = 0;
  #open = false;
  #count(): void {
    if (this.#open) return;
    this.#open = true;
    this.writes++;
    queueMicrotask(() => (this.#open = false));
  }
  override create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    this.#count();
    return super.create(header, first);
  }
  override append(event: SagaEvent): Promise<void> {
    this.#count();
    return super.append(event);
  }
}

const CONFIRMED_STEPS = ["charge", "reserve", "ship"];

describe("confirmations (after the pivot)", () => {
  it("decides once every action succeeded, then confirms every step: three durable writes", async () => {
    const script = new Script();
    const store = new WriteCountingStore();
    const runner = runnerOn(store, [script.definition("order", 1, { confirms: true })]);
    const saga = await run(runner);
    expect(saga.status).toBe("COMPLETED");
    expect(saga.decidedAt).toBeDefined();
    expect(store.writes).toBe(3); // created; decided (actions carried); completed (confirmations carried)
    expect(script.calls.slice(0, 4)).toEqual(STEPS.map((s) => `do:${s}:1`));
    expect(script.calls.slice(4).sort()).toEqual(CONFIRMED_STEPS.map((s) => `confirm:${s}:1`).sort());
    expect([...script.confirmed.values()]).toEqual([1, 1, 1]);
    const kinds = (await store.load(saga.sagaId))!.events.map((e) => `${e.kind}/${e.status}`);
    expect(kinds.slice(0, 10)).toEqual([
      "saga-created/RUNNING",
      ...STEPS.flatMap(() => ["step-started/RUNNING", "step-succeeded/RUNNING"]),
      "saga-decided/CONFIRMING",
    ]);
    expect(kinds.at(-1)).toBe("saga-completed/COMPLETED");
    expect(kinds.filter((k) => k.startsWith("confirmation-succeeded"))).toHaveLength(3);
    expect(saga.steps.filter((s) => s.phase === "confirmation").map((s) => [s.name, s.status, s.attempts])).toEqual(
      expect.arrayContaining(CONFIRMED_STEPS.map((s) => [s, "SUCCEEDED", 1])),
    );

    const plain = new WriteCountingStore();
    const without = await run(runnerOn(plain, [new Script().definition()]));
    expect(without.status).toBe("COMPLETED");
    expect(without.decidedAt).toBeUndefined();
    expect(plain.writes).toBe(2); // no confirmation: created; completed
  });

  it("answers whoever waits on the decision before it sends any confirmation", async () => {
    const script = new Script();
    const runner = runnerOn(new InMemorySagaStore(), [script.definition("order", 1, { confirms: true })]);
    const { saga } = await runner.start("order", { input: { n: 1 } });
    const decided = await runner.wait(saga.sagaId, 5_000, "decided");
    expect(decided?.status).toBe("CONFIRMING");
    // Everything the decision's turn still has to run (its microtasks) sends no confirmation:
    // they start on a later turn, after the answer to the wait is written.
    for (let i = 0; i < 100; i++) await Promise.resolve();
    expect(script.calls.filter((c) => c.startsWith("confirm:"))).toEqual([]);
    await runner.idle();
    expect(script.calls.filter((c) => c.startsWith("confirm:"))).toHaveLength(3);
    expect((await runner.get(saga.sagaId))?.status).toBe("COMPLETED");
  });

  it("retries a confirmation on any error, transient or not, and never compensates", async () => {
    const script = new Script();
    script.confirmations.set("reserve", ["transient", "business", "ok"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition("order", 1, { confirms: true })]);
    const saga = await run(runner);
    expect(saga.status).toBe("COMPLETED");
    expect(script.calls.filter((c) => c.startsWith("confirm:reserve"))).toEqual(["confirm:reserve:1", "confirm:reserve:2", "confirm:reserve:3"]);
    expect(script.calls.filter((c) => c.startsWith("undo:"))).toEqual([]);
    expect(saga.steps.find((s) => s.phase === "confirmation" && s.name === "reserve")).toMatchObject({
      status: "SUCCEEDED",
      attempts: 3,
      lastError: { code: "FAILED_PRECONDITION" },
    });
  });

  it("a saga that compensates never confirms", async () => {
    const script = new Script();
    script.actions.set("ship", ["business"]);
    const saga = await run(runnerOn(new InMemorySagaStore(), [script.definition("order", 1, { confirms: true })]));
    expect(saga.status).toBe("COMPENSATED");
    expect(saga.decidedAt).toBeUndefined();
    expect(script.calls.filter((c) => c.startsWith("confirm:"))).toEqual([]);
  });

  it("a confirmation past its budget leaves the saga NEEDS_ATTENTION, still decided; retry() confirms again", async () => {
    const script = new Script();
    script.confirmations.set("reserve", ["transient"]);
    const store = new InMemorySagaStore();
    const runner = runnerOn(store, [script.definition("order", 1, { confirms: true })]);
    const saga = await run(runner);
    expect(saga.status).toBe("NEEDS_ATTENTION");
    expect(saga.decidedAt).toBeDefined();
    const confirmations = saga.steps.filter((s) => s.phase === "confirmation");
    expect(confirmations.find((s) => s.name === "reserve")).toMatchObject({ status: "FAILED", attempts: 3 });
    // The others were let finish before the saga stopped: none is left RUNNING.
    expect(confirmations.filter((s) => s.name !== "reserve").map((s) => s.status)).toEqual(["SUCCEEDED", "SUCCEEDED"]);
    expect(script.calls.filter((c) => c.startsWith("undo:"))).toEqual([]);
    expect(await store.unfinished()).toEqual([]);

    script.confirmations.set("reserve", ["ok"]);
    const callsBefore = script.calls.length;
    const retried = await runner.retry(saga.sagaId, OPERATOR);
    expect(retried.status).toBe("CONFIRMING");
    await runner.idle();
    const done = (await runner.get(saga.sagaId))!;
    expect(done.status).toBe("COMPLETED");
    expect(script.calls.slice(callsBefore)).toEqual(["confirm:reserve:1"]); // only the one that had failed
    expect(script.calls.filter((c) => c.startsWith("undo:"))).toEqual([]);
  });

  it("does not apply the saga deadline once decided", async () => {
    let clock = 1_000;
    const script = new Script();
    const def = script.definition("order", 1, { deadlineMs: 500, confirms: true });
    const ship = def.steps[3]!;
    const confirm = ship.confirm!;
    ship.confirm = async (ctx) => {
      clock += 10_000; // far past the deadline
      return confirm(ctx);
    };
    script.confirmations.set("ship", ["transient", "ok"]);
    const saga = await run(runnerOn(new InMemorySagaStore(), [def], { now: () => clock }));
    expect(saga.status).toBe("COMPLETED");
    expect(script.calls.filter((c) => c.startsWith("undo:"))).toEqual([]);
  });

  it("wait() answers at the decision ('decided') and keeps a wait for the end ('terminal')", async () => {
    const script = new Script();
    script.confirmations.set("ship", ["hang"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition("order", 1, { confirms: true })]);
    const { saga } = await runner.start("order", { input: { n: 1 } });
    const decided = await runner.wait(saga.sagaId, 60_000, "decided");
    expect(decided?.status).toBe("CONFIRMING");
    expect(decided?.results["ship"]).toBeDefined();
    // Already decided when asked: answered at once, from the saga being driven.
    expect((await runner.wait(saga.sagaId, 60_000, "decided"))?.status).toBe("CONFIRMING");
    // A wait for the end times out with the saga as it stands.
    expect((await runner.wait(saga.sagaId, 5))?.status).toBe("CONFIRMING");
    await runner.close();
    // From the log, after the runner let go of it: still decided.
    expect((await runner.wait(saga.sagaId, 60_000, "decided"))?.status).toBe("CONFIRMING");
  });

  /** Where a crash cut a confirming saga, from what its durable log holds. */
  function crashPoint(events: readonly SagaEvent[]): string {
    if (!events.some((e) => e.kind === "saga-decided")) return "before decided";
    const confirmed = events.filter((e) => e.kind === "confirmation-succeeded").length;
    if (confirmed === 0) return "after decided, before any confirmation";
    if (confirmed < CONFIRMED_STEPS.length) return "between confirmations";
    if (!events.some((e) => e.kind === "saga-completed")) return "after confirmations, before COMPLETED";
    return "completed";
  }

  const scenarios: [string, (s: Script) => void][] = [
    ["every confirmation succeeds", () => {}],
    ["a confirmation fails twice first", (s) => s.confirmations.set("reserve", ["transient", "business", "ok"])],
  ];
  for (const [name, setup] of scenarios) {
    it(`${name}: a crash after every write loses no action or confirmation and compensates nothing`, async () => {
      const clean = new Script();
      setup(clean);
      const cleanStore = new InMemorySagaStore();
      const cleanSaga = await run(runnerOn(cleanStore, [clean.definition("order", 1, { confirms: true })]));
      expect(cleanSaga.status).toBe("COMPLETED");
      const total = (await cleanStore.load(cleanSaga.sagaId))!.events.length;

      const points = new Set<string>();
      for (let n = 1; n < total; n++) {
        const script = new Script();
        setup(script);
        const store = new CrashingStore(new InMemorySagaStore(), n);
        const old = runnerOn(store, [script.definition("order", 1, { confirms: true })]);
        const started = old.start("order", { idempotencyKey: "order-1", input: { n: 1 } });
        await store.crashed;
        await new Promise((r) => setImmediate(r));
        const sagaId = (await started).saga.sagaId;
        const logged = (await store.inner.load(sagaId))!.events;
        points.add(crashPoint(logged));
        const durable = (kind: string) => new Set(logged.filter((e) => e.kind === kind).map((e) => e.step));
        const actionsDone = durable("step-succeeded");
        const confirmationsDone = durable("confirmation-succeeded");
        const callsBefore = script.calls.length;

        const next = runnerOn(store.inner, [script.definition("order", 1, { confirms: true })]);
        expect(await next.resumePending()).toBe(1);
        await next.idle();
        const saga = (await next.get(sagaId))!;
        expect(saga.status, `crash after write ${n}`).toBe("COMPLETED");
        const after = script.calls.slice(callsBefore);
        for (const s of actionsDone)
          expect(
            after.filter((c) => c.startsWith(`do:${s}:`)),
            `action ${s} again, crash at ${n}`,
          ).toEqual([]);
        for (const s of confirmationsDone) {
          expect(
            after.filter((c) => c.startsWith(`confirm:${s}:`)),
            `confirmation ${s} again, crash at ${n}`,
          ).toEqual([]);
        }
        expect(
          script.calls.filter((c) => c.startsWith("undo:")),
          `compensated, crash at ${n}`,
        ).toEqual([]);
        for (const s of CONFIRMED_STEPS) expect(script.confirmed.get(`${sagaId}:${s}`), `${s} never confirmed, crash at ${n}`).toBeGreaterThan(0);
        expect(Object.keys(saga.results)).toEqual(STEPS);
        const events = (await store.inner.load(sagaId))!.events;
        expect(
          events.filter((e) => e.kind === "saga-decided"),
          `decided twice, crash at ${n}`,
        ).toHaveLength(1);
      }
      expect([...points].sort()).toEqual(
        ["before decided", "after decided, before any confirmation", "between confirmations", "after confirmations, before COMPLETED"].sort(),
      );
    });
  }
});

describe("operator actions", () => {
  const FORCE = { actor: "ops@example.com", reason: "customer cancelled by phone" };

  it("forceCompensate() stops a RUNNING saga mid-call and compensates every started step", async () => {
    const script = new Script();
    script.actions.set("reserve", ["hang"]);
    const store = new InMemorySagaStore();
    const runner = runnerOn(store, [script.definition("order", 1, { confirms: true })]);
    const { saga } = await runner.start("order", { input: { n: 1 } });
    await new Promise((r) => setImmediate(r)); // reserve is in flight (hanging)
    expect(script.calls).toEqual(["do:lookup:1", "do:charge:1", "do:reserve:1"]);
    const turned = await runner.forceCompensate(saga.sagaId, FORCE);
    expect(turned.status).toBe("COMPENSATING");
    expect(turned.error).toEqual({ code: "ABORTED", message: `compensation forced by ${FORCE.actor}: ${FORCE.reason}` });
    expect(turned.failedStep).toBeUndefined();
    await runner.idle();
    const done = (await runner.get(saga.sagaId))!;
    expect(done.status).toBe("COMPENSATED");
    expect(script.calls.slice(3)).toEqual(["undo:reserve:1", "undo:charge:1"]);
    expect(script.calls.filter((c) => c.startsWith("confirm:") || c.startsWith("do:ship"))).toEqual([]);
    expect(done.steps.find((s) => s.name === "reserve" && s.phase === "action")).toMatchObject({ status: "FAILED" });
    expect(done.operatorActions).toEqual([{ ...FORCE, kind: "saga-compensation-forced", status: "COMPENSATING", at: expect.any(Number) }]);
    const logged = (await store.load(saga.sagaId))!.events.find((e) => e.kind === "saga-compensation-forced");
    expect(logged?.operator).toEqual(FORCE);
  });

  it("forceCompensate() of a NEEDS_ATTENTION saga in compensation runs its compensations again", async () => {
    const script = new Script();
    script.actions.set("ship", ["business"]);
    script.compensations.set("reserve", ["transient", "transient", "transient", "ok"]);
    const runner = runnerOn(new InMemorySagaStore(), [script.definition()]);
    const stuck = await run(runner);
    expect(stuck.status).toBe("NEEDS_ATTENTION");
    const turned = await runner.forceCompensate(stuck.sagaId, FORCE);
    expect(turned.status).toBe("COMPENSATING");
    expect(turned.error?.code).toBe("FAILED_PRECONDITION"); // why it compensates is unchanged
    await runner.idle();
    expect((await runner.get(stuck.sagaId))?.status).toBe("COMPENSATED");
  });

  it("refuses forceCompensate() once the saga is decided, and on finished sagas, changing nothing", async () => {
    const script = new Script();
    script.confirmations.set("ship", ["hang"]);
    const store = new InMemorySagaStore();
    const runner = runnerOn(store, [script.definition("order", 1, { confirms: true })]);
    const { saga } = await runner.start("order", { input: { n: 1 } });
    expect((await runner.wait(saga.sagaId, 60_000, "decided"))?.status).toBe("CONFIRMING");
    const before = (await store.load(saga.sagaId))!.events.length;
    await expect(runner.forceCompensate(saga.sagaId, FORCE)).rejects.toThrow(/decided.*can no longer compensate/);
    expect((await store.load(saga.sagaId))!.events.length).toBe(before);
    await runner.close();

    // Decided and out of confirmation attempts: NEEDS_ATTENTION, still never compensable.
    const failing = new Script();
    failing.confirmations.set("ship", ["transient"]);
    const second = runnerOn(new InMemorySagaStore(), [failing.definition("order", 1, { confirms: true })]);
    const stuck = await run(second);
    expect(stuck.status).toBe("NEEDS_ATTENTION");
    await expect(second.forceCompensate(stuck.sagaId, FORCE)).rejects.toBeInstanceOf(SagaStateError);
    const completed = await run(runnerOn(new InMemorySagaStore(), [new Script().definition()]));
    expect(completed.status).toBe("COMPLETED");
    await expect(second.forceCompensate("nope", FORCE)).rejects.toBeInstanceOf(SagaNotFoundError);
  });

  it("resolve() marks a NEEDS_ATTENTION saga RESOLVED (terminal), and nothing more is called", async () => {
    const script = new Script();
    script.actions.set("ship", ["business"]);
    script.compensations.set("charge", ["transient"]);
    const store = new InMemorySagaStore();
    const runner = runnerOn(store, [script.definition()]);
    const stuck = await run(runner);
    expect(stuck.status).toBe("NEEDS_ATTENTION");
    const callsBefore = script.calls.length;
    const note = { actor: "ops@example.com", reason: "refunded by hand in the bank's portal" };
    const resolved = await runner.resolve(stuck.sagaId, note);
    expect(resolved.status).toBe("RESOLVED");
    expect(resolved.operatorActions).toEqual([{ ...note, kind: "saga-resolved", status: "RESOLVED", at: expect.any(Number) }]);
    await runner.idle();
    expect(script.calls.length).toBe(callsBefore);
    expect((await runner.list({ statuses: ["RESOLVED"] })).sagas.map((s) => s.sagaId)).toEqual([stuck.sagaId]);
    expect(await runner.resumePending()).toBe(0);
    expect((await runner.wait(stuck.sagaId, 60_000))?.status).toBe("RESOLVED");
    await expect(runner.resolve(stuck.sagaId, note)).rejects.toThrow(/is RESOLVED, not NEEDS_ATTENTION/);
    await expect(runner.retry(stuck.sagaId, note)).rejects.toBeInstanceOf(SagaStateError);
  });

  it("needs a non-empty actor and reason for every action, and changes nothing without them", async () => {
    const script = new Script();
    script.actions.set("ship", ["business"]);
    script.compensations.set("charge", ["transient"]);
    const store = new InMemorySagaStore();
    const runner = runnerOn(store, [script.definition()]);
    const stuck = await run(runner);
    const before = (await store.load(stuck.sagaId))!.events;
    const bad: [Partial<typeof FORCE>, RegExp][] = [
      [{ actor: "ops", reason: "" }, /^reason: is required/],
      [{ actor: "ops", reason: "   " }, /^reason: is required/],
      [{ actor: "", reason: "why" }, /^actor: is required/],
      [{ reason: "why" }, /^actor: is required/],
      [{ actor: "x".repeat(201), reason: "why" }, /^actor: is longer than 200/],
      [{ actor: "ops", reason: "x".repeat(2_001) }, /^reason: is longer than 2000/],
    ];
    for (const [note, message] of bad) {
      for (const act of [runner.retry, runner.forceCompensate, runner.resolve]) {
        await expect(act(stuck.sagaId, note as typeof FORCE)).rejects.toSatisfy(
          (e: unknown) => e instanceof InvalidOperatorNoteError && message.test((e as Error).message),
        );
      }
    }
    expect((await store.load(stuck.sagaId))!.events).toEqual(before);
    const retried = await runner.retry(stuck.sagaId, { actor: "  ops  ", reason: " payments is back " });
    expect(retried.operatorActions).toEqual([
      { actor: "ops", reason: "payments is back", kind: "saga-retried", status: "COMPENSATING", at: expect.any(Number) },
    ]);
  });

  it("forceCompensate() of a RUNNING saga no runner drives (cut off by a crash) arms the steps its log may lack", async () => {
    const script = new Script();
    script.actions.set("reserve", ["hang"]);
    const store = new InMemorySagaStore();
    const first = runnerOn(store, [script.definition()]);
    const { saga } = await first.start("order", { input: { n: 1 } });
    await new Promise((r) => setImmediate(r));
    await first.close(); // only the creation is durable: starts are carried
    const second = runnerOn(store, [script.definition()]);
    const turned = await second.forceCompensate(saga.sagaId, FORCE);
    expect(turned.status).toBe("COMPENSATING");
    await second.idle();
    expect((await second.get(saga.sagaId))?.status).toBe("COMPENSATED");
    // The log knew of no step: every compensable one is compensated, the never-sent ship too.
    expect(script.calls.slice(3)).toEqual(["undo:ship:1", "undo:reserve:1", "undo:charge:1"]);
  });

  it("a forced compensation survives a crash right after it is logged", async () => {
    const script = new Script();
    script.actions.set("reserve", ["hang"]);
    const store = new InMemorySagaStore();
    const first = runnerOn(store, [script.definition()]);
    const { saga } = await first.start("order", { input: { n: 1 } });
    await new Promise((r) => setImmediate(r));
    script.compensations.set("reserve", ["hang"]); // the first runner stops mid-compensation
    await first.forceCompensate(saga.sagaId, FORCE);
    await new Promise((r) => setImmediate(r));
    await first.close();
    expect((await store.load(saga.sagaId))?.events.at(-1)?.kind).toBe("compensation-started");
    script.compensations.set("reserve", ["ok"]);
    const second = runnerOn(store, [script.definition()]);
    expect(await second.resumePending()).toBe(1);
    await second.idle();
    const done = (await second.get(saga.sagaId))!;
    expect(done.status).toBe("COMPENSATED");
    expect(done.operatorActions.map((a) => a.kind)).toEqual(["saga-compensation-forced"]);
  });
});

/** A store whose next `failures` appends (and reads, while failing) reject, as a log server that went away; some of the failed appends landed before the answer was lost. */
class FlakyStore extends InMemorySagaStore {
  failures = 0;
  failedAppends = 0;
  override append(event: SagaEvent): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      this.failedAppends++;
      // Every other failed append landed before its answer was lost: the runner cannot know which.
      if (this.failedAppends % 2 === 0) void super.append(event).catch(() => {});
      return Promise.reject(new Error("connection lost"));
    }
    return super.append(event);
  }
  override load(sagaId: string): Promise<StoredSaga | undefined> {
    if (this.failures > 0) {
      this.failures--;
      return Promise.reject(new Error("connection refused"));
    }
    return super.load(sagaId);
  }
}

describe("a failed write to the log", () => {
  it("reads the saga back from the log and drives it on, instead of leaving it until the next start", async () => {
    const script = new Script();
    const store = new FlakyStore();
    const warnings: string[] = [];
    const runner = runnerOn(store, [script.definition("order", 1, { confirms: true })], {
      log: { info() {}, error() {}, warn: (_f, m) => void warnings.push(m ?? "") },
    });
    const started = await Promise.all([1, 2, 3, 4, 5].map((n) => runner.start("order", { input: { n } })));
    store.failures = 12;
    await runner.idle();
    for (const { saga } of started) {
      const done = (await runner.get(saga.sagaId))!;
      expect(done.status).toBe("COMPLETED");
      const events = (await store.load(saga.sagaId))!.events;
      expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.kind === "saga-completed")).toHaveLength(1);
      // A step whose success was lost with a write is called again (with its key), and logged once.
      for (const name of STEPS) {
        expect(
          events.filter((e) => e.kind === "step-succeeded" && e.step === name),
          name,
        ).toHaveLength(1);
      }
    }
    expect(store.failedAppends).toBeGreaterThan(0);
    expect(warnings.filter((w) => w.includes("read back from the log")).length).toBeGreaterThan(0);
  });
});
