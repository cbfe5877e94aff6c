/**
 * A seeded, deterministic simulation of the engine against fake services, in the style of
 * FoundationDB/TigerBeetle simulation testing. Every fault comes from one seeded PRNG and
 * time is virtual (injected clock and sleep), so a seed reproduces a run exactly.
 *
 * Fake services are idempotent key → state maps, like the real ones: an action applies
 * once per key; a compensation before its action leaves a tombstone, so a late action is
 * refused; compensations and confirmations are idempotent, and a service notes a
 * confirmation of something not applied, or a compensation of something confirmed, as a
 * broken invariant. Injected faults: transient errors, lost replies (applied, answer
 * dropped), duplicate deliveries, actions delayed until after their compensation, business
 * failures, stalls past the saga deadline, compensation and confirmation failures
 * (→ NEEDS_ATTENTION, then an operator retry, or a resolution by hand), operators forcing
 * sagas to compensate at random moments (refused once decided), and process crashes at any write: the store
 * stops acknowledging writes (the crashing write is durable or not, at random), the old
 * runner is abandoned with its in-flight calls still landing, and a fresh runner on the
 * same store runs `resumePending()` while clients re-send unacknowledged starts.
 */
import { foldSaga, type SagaEvent, type SagaHeader } from "./saga-record.js";
import type { Json } from "./json.js";
import { SagaLimitError, SagaStateError } from "./errors.js";
import { createRunner, type Runner } from "./runner.js";
import { defineSaga, type SagaDefinition, step } from "./saga.js";
import { type CreateResult, InMemorySagaStore, type SagaListQuery, type SagaStore, type StoredSaga } from "./saga-store.js";
import { InMemorySagaOwnership } from "./in-memory-saga-ownership.js";
import type { SagaClaim, SagaOwnership } from "./saga-ownership.js";

/** Probabilities of each fault (per call, except `crash`: per epoch). */
export interface Faults {
  transient: number;
  lostReply: number;
  duplicate: number;
  delayed: number;
  business: number;
  compensationFailure: number;
  confirmationFailure: number;
  /** Per saga: an operator forces it to compensate, a few ticks after its start. */
  forcedCompensation: number;
  /** Per NEEDS_ATTENTION saga and epoch: the operator resolves it by hand instead of retrying. */
  resolution: number;
  stall: number;
  crash: number;
  /** With replicas, per replica and round: it pauses (no renewal, no call or write leaves it) past its lease. */
  pause: number;
  /** With replicas, per replica and round: it is killed between two writes (besides `crash`, which kills it at a write). */
  kill: number;
}

/** Faults used when none are given: every kind, often enough to matter in a few thousand sagas. */
export const DEFAULT_FAULTS: Readonly<Faults> = Object.freeze({
  transient: 0.08,
  lostReply: 0.05,
  duplicate: 0.05,
  delayed: 0.03,
  business: 0.04,
  compensationFailure: 0.2,
  confirmationFailure: 0.15,
  forcedCompensation: 0.02,
  resolution: 0.2,
  stall: 0.00002,
  crash: 0.6,
  pause: 0.004,
  kill: 0.002,
});

/** What to simulate. */
export interface SimulationOptions {
  seed: number;
  sagas: number;
  /** New sagas started per epoch (between crashes); default 200. */
  concurrency?: number;
  faults?: Partial<Faults>;
  /** Opens the store (default: a fresh InMemorySagaStore). Called again after a crash when `reopenOnCrash`. */
  openStore?: () => SagaStore;
  /** Close and reopen the store after each crash (for file-backed stores). */
  reopenOnCrash?: boolean;
  /**
   * Several runners (replicas) on one in-memory log, each owning the sagas it drives by lease
   * on the virtual clock, paused past their lease or crashed at random (default 1: one engine,
   * crashed and restarted). With replicas, `concurrency` is the number of orders in flight.
   */
  replicas?: number;
  /** Told of the number of orders sent so far, every 50,000 (long runs print it). */
  onProgress?: (orders: number) => void;
}

/** What happened, and every broken invariant (empty when all held). */
export interface SimulationReport {
  seed: number;
  sagas: number;
  completed: number;
  compensated: number;
  /** Sagas an operator resolved by hand (from NEEDS_ATTENTION). */
  resolved: number;
  epochs: number;
  crashes: number;
  /** Crashes by the kind of write that was cut. */
  crashedAt: Record<string, number>;
  events: number;
  calls: number;
  transientErrors: number;
  lostReplies: number;
  duplicateDeliveries: number;
  delayedDeliveries: number;
  lateActionsRefused: number;
  businessFailures: number;
  deadlineCompensations: number;
  unknownOutcomeCompensations: number;
  operatorRetries: number;
  /** Forced compensations acknowledged: each of those sagas must end COMPENSATED. */
  forcedCompensations: number;
  /** Forced compensations refused (the saga was decided, or finished). */
  forcedRefused: number;
  /** Sagas that passed their pivot (logged "saga-decided"). */
  decided: number;
  /** Confirmations that took effect in a service. */
  confirmationsApplied: number;
  /** Confirmations that ran out of attempts (their saga went NEEDS_ATTENTION, still decided). */
  confirmationsExhausted: number;
  duplicateStarts: number;
  resentStarts: number;
  /** With replicas: replicas started in all (the first ones and each one replacing a crashed one). */
  replicaLives: number;
  /** With replicas: starts refused because the replica had as many sagas as it may drive (the client sends them again). */
  startsRefusedAtLimit: number;
  /** With replicas: pauses past the lease. */
  pauses: number;
  /** With replicas: sagas claimed from another replica whose lease ran out. */
  takeovers: number;
  /** With replicas: appends refused because the writer had been fenced (its epoch moved on). */
  fencedWrites: number;
  /** With replicas: calls a fenced replica still sent after waking (its lease gone; the services' idempotency absorbs them). */
  staleCalls: number;
  violations: string[];
  elapsedMs: number;
}

/** A small, fast, seedable PRNG (mulberry32): returns numbers in [0, 1). */
export function createPrng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class SimTransient extends Error {
  override name = "SimTransient";
}
class SimBusiness extends Error {
  override name = "SimBusiness";
}

type KeyState = "applied" | "confirmed" | "rejected" | "undone" | "tombstone";

/** An idempotent fake service: key → state, as the real services keep it. */
class FakeService {
  readonly state = new Map<string, KeyState>();
  readonly applies = new Map<string, number>();
  readonly undos = new Map<string, number>();
  readonly confirms = new Map<string, number>();
  constructor(
    readonly name: string,
    private readonly decideBusiness: () => boolean,
    private readonly violate: (message: string) => void,
  ) {}

  /** Applies the action once per key; refuses after a compensation (tombstone) or a business failure. */
  apply(key: string): boolean {
    const s = this.state.get(key);
    if (s === undefined) {
      if (this.decideBusiness()) {
        this.state.set(key, "rejected");
        return false;
      }
      this.state.set(key, "applied");
      this.applies.set(key, (this.applies.get(key) ?? 0) + 1);
      return true;
    }
    return s === "applied" || s === "confirmed";
  }

  /** Undoes once; with nothing to undo, leaves a tombstone that refuses a late action. Refuses to undo a confirmed action. */
  undo(key: string): void {
    const s = this.state.get(key);
    if (s === undefined) this.state.set(key, "tombstone");
    else if (s === "applied") {
      this.state.set(key, "undone");
      this.undos.set(key, (this.undos.get(key) ?? 0) + 1);
    } else if (s === "confirmed") this.violate(`${this.name}: compensation of ${key} after its confirmation`);
  }

  /** Confirms once (a repeat changes nothing); true when this call took effect. Only an applied action can be confirmed. */
  confirm(key: string): boolean {
    const s = this.state.get(key);
    if (s === "confirmed") return false;
    if (s !== "applied") {
      this.violate(`${this.name}: confirmation of ${key}, which is ${s ?? "unknown"}`);
      return false;
    }
    this.state.set(key, "confirmed");
    this.confirms.set(key, (this.confirms.get(key) ?? 0) + 1);
    return true;
  }
}

interface Epoch {
  dead: boolean;
  /** With replicas: this replica's id, and while it is paused, what its calls and writes wait for. */
  replicaId?: string;
  gate?: Promise<void>;
}

const STEPS = ["lookup", "charge", "reserve", "ship"] as const;
/** With replicas, on the virtual clock: a lease, how often it is renewed, how often expired ones are claimed, and one round. */
const REPLICA_LEASE_MS = 1_000;
const REPLICA_RENEW_MS = 300;
const REPLICA_CLAIM_MS = 100;
const REPLICA_ROUND_MS = 20;
const never = <T>(): Promise<T> => new Promise<T>(() => {});
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Runs one simulation; resolves with its report. Never rejects on a broken invariant:
 * the report lists it (with the seed) in `violations`.
 */
export async function runSimulation(options: SimulationOptions): Promise<SimulationReport> {
  const started = performance.now();
  const f: Faults = { ...DEFAULT_FAULTS, ...options.faults };
  const prng = createPrng(options.seed);
  const chance = (p: number): boolean => p > 0 && prng() < p;
  const concurrency = options.concurrency ?? 200;
  const openStore = options.openStore ?? (() => new InMemorySagaStore());
  const deadlineMs = 60_000;
  let clock = 1_000_000;
  let nextId = 0;

  const report: SimulationReport = {
    seed: options.seed,
    sagas: options.sagas,
    completed: 0,
    compensated: 0,
    resolved: 0,
    epochs: 0,
    crashes: 0,
    crashedAt: {},
    events: 0,
    calls: 0,
    transientErrors: 0,
    lostReplies: 0,
    duplicateDeliveries: 0,
    delayedDeliveries: 0,
    lateActionsRefused: 0,
    businessFailures: 0,
    deadlineCompensations: 0,
    unknownOutcomeCompensations: 0,
    operatorRetries: 0,
    forcedCompensations: 0,
    forcedRefused: 0,
    decided: 0,
    confirmationsApplied: 0,
    confirmationsExhausted: 0,
    duplicateStarts: 0,
    resentStarts: 0,
    replicaLives: 0,
    startsRefusedAtLimit: 0,
    pauses: 0,
    takeovers: 0,
    fencedWrites: 0,
    staleCalls: 0,
    violations: [],
    elapsedMs: 0,
  };
  const violate = (msg: string): void => {
    if (report.violations.length < 50) report.violations.push(`seed ${options.seed}: ${msg}`);
  };

  const services = new Map<string, FakeService>();
  for (const name of STEPS.slice(1)) services.set(name, new FakeService(name, () => chance(f.business), violate));
  /** Keys whose step-succeeded / compensation-succeeded / confirmation-succeeded is durable: calling them again is a bug. */
  const doneActions = new Set<string>();
  const doneCompensations = new Set<string>();
  const doneConfirmations = new Set<string>();
  /** Sagas whose resolution by an operator is durable: nothing may be called for them again. */
  const resolvedSagas = new Set<string>();
  /** Sagas whose forced compensation was acknowledged. */
  const forcedSagas = new Set<string>();
  const checkNotResolved = (key: string): void => {
    if (resolvedSagas.has(key.slice(0, key.lastIndexOf(":")))) violate(`${key} called after its saga was resolved`);
  };
  const delayed: { service: FakeService; key: string }[] = [];

  const deliverDelayed = (): void => {
    const i = Math.floor(prng() * delayed.length);
    const d = delayed[i]!;
    delayed[i] = delayed[delayed.length - 1]!;
    delayed.pop();
    const before = d.service.state.get(d.key);
    d.service.apply(d.key);
    if (before === "undone" || before === "tombstone") report.lateActionsRefused++;
  };

  /**
   * A paused replica's call waits until it wakes; then it is sent unless its saga was dropped
   * meanwhile (the call's signal aborted). Returns whether the sender had lost the saga by then
   * (a stale call: the services' idempotency must absorb it, and the engine's own "never again"
   * checks do not apply to it).
   */
  async function passGate(epoch: Epoch, key: string, signal: (() => AbortSignal) | undefined): Promise<boolean> {
    if (epoch.gate === undefined || signal === undefined) return staleOwner(epoch, key);
    const s = signal();
    while (epoch.gate) await epoch.gate;
    if (epoch.dead || s.aborted) throw new SimTransient("call dropped before it was sent");
    return staleOwner(epoch, key);
  }

  function staleOwner(epoch: Epoch, key: string): boolean {
    if (epoch.replicaId === undefined || ownership === undefined) return false;
    const stale = ownership.ownerOf(key.slice(0, key.lastIndexOf(":"))) !== epoch.replicaId;
    if (stale) report.staleCalls++;
    return stale;
  }

  async function callAction(epoch: Epoch, name: string, key: string, signal?: () => AbortSignal): Promise<Json> {
    if (epoch.dead) throw new SimTransient("process is dead"); // a killed process sends nothing
    const stale = await passGate(epoch, key, signal);
    report.calls++;
    if (!stale) checkNotResolved(key); // a replica that lost the saga may not know yet of an operator's resolution elsewhere
    if (doneActions.has(key) && !stale) violate(`action ${key} called again after its success was logged`);
    if (delayed.length > 0 && chance(0.05)) deliverDelayed();
    for (let i = Math.floor(prng() * 3); i > 0; i--) await tick();
    if (chance(f.stall)) clock += deadlineMs; // a long pause: every running saga passes its deadline
    if (chance(f.transient)) {
      report.transientErrors++;
      throw new SimTransient(`${name} unavailable`);
    }
    const service = services.get(name);
    if (!service) {
      if (chance(f.business)) {
        report.businessFailures++;
        throw new SimBusiness(`${name}: unknown product`);
      }
      return { key, by: name };
    }
    if (chance(f.delayed)) {
      report.delayedDeliveries++;
      delayed.push({ service, key });
      throw new SimTransient(`${name} timed out`);
    }
    const ok = service.apply(key);
    if (chance(f.duplicate)) {
      report.duplicateDeliveries++;
      service.apply(key);
    }
    await tick();
    if (!ok) {
      report.businessFailures++;
      throw new SimBusiness(`${name} refused ${key}`);
    }
    if (chance(f.lostReply)) {
      report.lostReplies++;
      throw new SimTransient(`${name} reply lost`);
    }
    return { key, by: name };
  }

  async function callCompensation(epoch: Epoch, name: string, key: string, signal?: () => AbortSignal): Promise<void> {
    if (epoch.dead) throw new SimTransient("process is dead");
    const stale = await passGate(epoch, key, signal);
    report.calls++;
    if (!stale) checkNotResolved(key); // a replica that lost the saga may not know yet of an operator's resolution elsewhere
    if (doneCompensations.has(key) && !stale) violate(`compensation ${key} called again after its success was logged`);
    for (let i = Math.floor(prng() * 3); i > 0; i--) await tick();
    if (chance(f.compensationFailure)) {
      throw chance(0.5) ? new SimTransient(`${name} undo unavailable`) : new SimBusiness(`${name} undo: internal error`);
    }
    services.get(name)!.undo(key);
    if (chance(f.duplicate)) services.get(name)!.undo(key);
    await tick();
    if (chance(f.lostReply)) throw new SimTransient(`${name} undo reply lost`);
  }

  async function callConfirmation(epoch: Epoch, name: string, key: string, signal?: () => AbortSignal): Promise<void> {
    if (epoch.dead) throw new SimTransient("process is dead");
    const stale = await passGate(epoch, key, signal);
    report.calls++;
    if (!stale) checkNotResolved(key); // a replica that lost the saga may not know yet of an operator's resolution elsewhere
    if (doneConfirmations.has(key) && !stale) violate(`confirmation ${key} called again after its success was logged`);
    for (let i = Math.floor(prng() * 3); i > 0; i--) await tick();
    if (chance(f.stall)) clock += deadlineMs; // a decided saga has no deadline: this must change nothing
    if (chance(f.confirmationFailure)) {
      throw chance(0.5) ? new SimTransient(`${name} confirm unavailable`) : new SimBusiness(`${name} confirm: internal error`);
    }
    const service = services.get(name)!;
    if (service.confirm(key)) report.confirmationsApplied++;
    if (chance(f.duplicate)) {
      report.duplicateDeliveries++;
      if (service.confirm(key)) report.confirmationsApplied++;
    }
    await tick();
    if (chance(f.lostReply)) {
      report.lostReplies++;
      throw new SimTransient(`${name} confirm reply lost`);
    }
  }

  function definition(epoch: Epoch): SagaDefinition<{ order: number }> {
    const retry = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 20, backoffRate: 2, timeoutMs: 1_000_000_000 };
    const compensationRetry = { ...retry, attentionAfter: 3 };
    const confirmationRetry = { ...retry, attentionAfter: 4 };
    return defineSaga(
      "sim-order",
      1,
      STEPS.map((name, i) =>
        step<{ order: number }>(
          name,
          async (ctx) => {
            for (const prev of STEPS.slice(0, i)) {
              if (ctx.results[prev] === undefined) violate(`${ctx.key}: result of ${prev} missing`);
            }
            return callAction(epoch, name, ctx.key, epoch.replicaId === undefined ? undefined : () => ctx.signal);
          },
          {
            retry,
            compensationRetry,
            confirmationRetry,
            ...(i > 0 && {
              compensate: (ctx) => callCompensation(epoch, name, ctx.key, epoch.replicaId === undefined ? undefined : () => ctx.signal),
              confirm: async (ctx) => {
                for (const other of STEPS) {
                  if (ctx.results[other] === undefined) violate(`${ctx.key}: confirmation without the result of ${other}`);
                }
                return callConfirmation(epoch, name, ctx.key, epoch.replicaId === undefined ? undefined : () => ctx.signal);
              },
            }),
          },
        ),
      ),
      { deadlineMs },
    );
  }

  interface Order {
    key: string;
    sagaId?: string;
  }
  const orders: Order[] = [];
  let unacked: Order[] = [];
  const replicas = options.replicas ?? 1;
  if (!Number.isSafeInteger(replicas) || replicas < 1) throw new RangeError(`replicas is ${replicas}: it must be a whole number ≥ 1`);
  if (replicas > 1 && options.openStore) throw new RangeError("replicas run on the in-memory log only: leave openStore out");
  let inner = openStore();
  /** With replicas: the leases of the shared log, on the virtual clock. */
  const ownership = replicas > 1 ? new InMemorySagaOwnership(inner as InMemorySagaStore, () => clock) : undefined;
  const maxEpochs = Math.ceil(options.sagas / concurrency) * 6 + 50;

  async function startOrder(runner: Runner, order: Order): Promise<void> {
    const request = { idempotencyKey: order.key, input: { order: Number(order.key.slice(6)) } };
    const twice = chance(0.05);
    const first = runner.start("sim-order", request);
    const results = [await first];
    if (twice) {
      report.duplicateStarts++;
      results.push(await runner.start("sim-order", request));
    }
    for (const r of results) {
      if (order.sagaId !== undefined && r.saga.sagaId !== order.sagaId) violate(`${order.key} mapped to two sagas`);
      order.sagaId = r.saga.sagaId;
    }
  }

  const operator = { actor: "simulation", reason: "a simulated operator acting on a saga" };

  /** An operator forces the saga to compensate a few ticks from now; refused if it is decided or finished. */
  async function forceLater(epoch: Epoch, runner: Runner, sagaId: string): Promise<void> {
    for (let i = Math.floor(prng() * 40); i > 0; i--) await tick();
    if (epoch.dead) return; // the process crashed: nobody answers the operator
    try {
      await runner.forceCompensate(sagaId, operator);
      forcedSagas.add(sagaId);
      report.forcedCompensations++;
    } catch (err) {
      if (epoch.dead) return;
      if (err instanceof SagaStateError) report.forcedRefused++;
      else violate(`forceCompensate ${sagaId}: ${String(err)}`);
    }
  }

  const onDurable = (e: SagaEvent): void => {
    report.events++;
    if (e.kind === "step-succeeded") doneActions.add(`${e.sagaId}:${e.step}`);
    if (e.kind === "compensation-succeeded") doneCompensations.add(`${e.sagaId}:${e.step}`);
    if (e.kind === "confirmation-succeeded") doneConfirmations.add(`${e.sagaId}:${e.step}`);
    if (e.kind === "saga-decided") report.decided++;
    if (e.kind === "confirmation-failed") report.confirmationsExhausted++;
    if (e.kind === "saga-retried") report.operatorRetries++;
    if (e.kind === "saga-resolved") resolvedSagas.add(e.sagaId);
  };

  function newRunner(store: SagaStore, epoch: Epoch, owned?: { port: SagaOwnership; replicaId: string }): Runner {
    return createRunner({
      store,
      definitions: [definition(epoch)],
      isRetryable: (e) => e instanceof SimTransient,
      describeError: (e) => ({
        code: e instanceof SimTransient ? "UNAVAILABLE" : e instanceof SimBusiness ? "FAILED_PRECONDITION" : "INTERNAL",
        message: String((e as Error)?.message ?? e),
      }),
      now: () => clock,
      sleep: () => tick(),
      random: prng,
      newId: () => `saga-${String(++nextId).padStart(9, "0")}`,
      ...(owned && {
        maxInFlight: concurrency * 3,
        ownership: { port: owned.port, replicaId: owned.replicaId, leaseMs: REPLICA_LEASE_MS, timers: false },
      }),
    });
  }

  /**
   * Replicas on one log, each a runner owning what it drives, in rounds of the virtual clock:
   * clients send orders to a random live replica (now and then the same key to two at once)
   * and fail over when it dies; each replica renews its leases and claims expired sagas on its
   * own schedule; at random one pauses past its lease (no renewal, its calls and writes held)
   * and later wakes (a renewal first, as its overdue timer would, then what it held goes out),
   * or crashes (its store stops answering, its calls in flight still land) and is replaced by
   * a new replica; an operator retries or resolves NEEDS_ATTENTION sagas through any replica.
   */
  async function runReplicas(own: InMemorySagaOwnership): Promise<void> {
    interface Life {
      epoch: Epoch;
      store: ReplicaStore;
      runner: Runner;
      nextRenew: number;
      nextClaim: number;
      pausedUntil: number | undefined;
      wake: (() => void) | undefined;
      diedAt: number | undefined;
    }
    const lives: Life[] = [];
    const birth = (): Life => {
      report.replicaLives++;
      const epoch: Epoch = { dead: false, replicaId: `replica-${report.replicaLives}` };
      const crashAfter = chance(f.crash) ? 1 + Math.floor(prng() * concurrency * 12) : Infinity;
      const store = new ReplicaStore(inner as InMemorySagaStore, own, epoch, crashAfter, prng, onDurable, violate);
      const runner = newRunner(store, epoch, { port: store, replicaId: epoch.replicaId! });
      const life: Life = { epoch, store, runner, nextRenew: clock, nextClaim: clock, pausedUntil: undefined, wake: undefined, diedAt: undefined };
      void store.crashed.then(() => {
        epoch.dead = true;
        life.diedAt = clock;
        report.crashes++;
        report.crashedAt[store.crashKind] = (report.crashedAt[store.crashKind] ?? 0) + 1;
      });
      void Promise.race([runner.resumePending(), store.crashed]).catch((err: unknown) => violate(`${epoch.replicaId} resume: ${String(err)}`));
      return life;
    };
    for (let i = 0; i < replicas; i++) lives.push(birth());
    const awake = (): Life[] => lives.filter((l) => !l.epoch.dead && l.pausedUntil === undefined);
    const pick = <T>(from: T[]): T => from[Math.floor(prng() * from.length)]!;

    const resend: Order[] = [];
    let sending = 0;
    /** Sends an order to a replica (now and then the same key to a second one at once); on no answer, queues it again. */
    const send = async (order: Order, life: Life): Promise<void> => {
      const request = { idempotencyKey: order.key, input: { order: Number(order.key.slice(6)) } };
      const targets = [life];
      const others = awake().filter((l) => l !== life);
      if (others.length > 0 && chance(0.05)) {
        report.duplicateStarts++;
        targets.push(pick(others));
      }
      const answers = await Promise.all(
        targets.map((t) =>
          Promise.race([t.runner.start("sim-order", request), t.store.crashed.then(() => undefined)]).catch((err: unknown) => {
            if (err instanceof SagaLimitError) report.startsRefusedAtLimit++;
            else violate(`start ${order.key}: ${String(err)}`);
            return undefined;
          }),
        ),
      );
      for (const answer of answers) {
        if (!answer) continue;
        if (order.sagaId !== undefined && answer.saga.sagaId !== order.sagaId) violate(`${order.key} mapped to two sagas`);
        order.sagaId = answer.saga.sagaId;
      }
      if (answers.every((a) => a === undefined) && order.sagaId === undefined) {
        if (targets.some((t) => t.epoch.dead)) report.resentStarts++;
        resend.push(order);
        return;
      }
      if (chance(f.forcedCompensation) && order.sagaId !== undefined) {
        const by = pick(awake().length > 0 ? awake() : [life]);
        void Promise.race([forceLater(by.epoch, by.runner, order.sagaId), by.store.crashed]);
      }
    };

    const maxRounds = Math.ceil(options.sagas / concurrency) * 2_000 + 20_000;
    for (let round = 1; ; round++) {
      if (round > maxRounds) {
        violate(`liveness: not done after ${maxRounds} rounds (${own.unfinishedCount} unfinished, ${own.needsAttention.size} needing attention)`);
        break;
      }
      report.epochs = round;
      while (sending < concurrency && (resend.length > 0 || orders.length < options.sagas)) {
        const to = awake();
        if (to.length === 0) break;
        let order = resend.shift();
        if (!order) {
          order = { key: `order-${orders.length}` };
          orders.push(order);
          if (orders.length % 50_000 === 0) options.onProgress?.(orders.length);
        }
        sending++;
        void send(order, pick(to)).finally(() => sending--);
      }
      await tick();
      clock += REPLICA_ROUND_MS;
      for (const life of lives) {
        if (life.epoch.dead) continue;
        if (life.pausedUntil !== undefined) {
          if (clock < life.pausedUntil) continue;
          // Wakes: its overdue renewal runs first and drops what it lost, then what it held goes out.
          life.pausedUntil = undefined;
          await Promise.race([life.runner.renewLeases(), life.store.crashed]);
          life.epoch.gate = undefined;
          life.wake?.();
          life.wake = undefined;
          continue;
        }
        if (chance(f.kill)) {
          life.store.kill();
          continue;
        }
        if (chance(f.pause)) {
          report.pauses++;
          life.pausedUntil = clock + Math.floor(REPLICA_LEASE_MS * (1.2 + prng() * 2));
          life.epoch.gate = new Promise<void>((resolve) => (life.wake = resolve));
          continue;
        }
        if (clock >= life.nextRenew) {
          life.nextRenew = clock + REPLICA_RENEW_MS;
          await Promise.race([life.runner.renewLeases(), life.store.crashed]);
        }
        if (clock >= life.nextClaim && !life.epoch.dead) {
          life.nextClaim = clock + REPLICA_CLAIM_MS;
          await Promise.race([life.runner.claimSagas(), life.store.crashed]);
        }
      }
      // A crashed replica is replaced once its leases have run out (a new process, a new id).
      for (let i = 0; i < lives.length; i++) {
        const died = lives[i]!.diedAt;
        if (died !== undefined && clock >= died + REPLICA_LEASE_MS) lives[i] = birth();
      }
      if (round % 40 === 0 && own.needsAttention.size > 0) {
        for (const sagaId of [...own.needsAttention]) {
          const to = awake();
          if (to.length === 0) break;
          const by = pick(to);
          const act = chance(f.resolution) ? by.runner.resolve(sagaId, operator) : by.runner.retry(sagaId, operator);
          void Promise.race([act, by.store.crashed]).catch((err: unknown) => {
            if (!(err instanceof SagaStateError) && !by.epoch.dead) violate(`operator on ${sagaId}: ${String(err)}`);
          });
        }
      }
      if (orders.length >= options.sagas && resend.length === 0 && sending === 0 && own.unfinishedCount === 0 && own.needsAttention.size === 0) {
        break;
      }
    }
    // Wake every paused replica: whatever it still held must be refused or change nothing.
    for (const life of lives) {
      if (life.pausedUntil === undefined || life.epoch.dead) continue;
      life.pausedUntil = undefined;
      life.epoch.gate = undefined;
      life.wake?.();
    }
    for (let i = 0; i < 40; i++) await tick();
    report.takeovers = own.takeovers;
    report.fencedWrites = own.fencedAppends;
    for (const breach of own.breaches) violate(breach);
  }

  if (ownership) await runReplicas(ownership);
  else
    for (;;) {
      report.epochs++;
      if (report.epochs > maxEpochs) {
        violate(`liveness: not done after ${maxEpochs} epochs`);
        break;
      }
      const epoch: Epoch = { dead: false };
      const crashAfter = chance(f.crash) ? 1 + Math.floor(prng() * concurrency * 12) : Infinity;
      const store = new CrashableStore(inner, crashAfter, prng, onDurable);
      const runner = newRunner(store, epoch);
      const batch = unacked;
      report.resentStarts += batch.length;
      unacked = [];
      while (batch.length < concurrency && orders.length < options.sagas) {
        const order: Order = { key: `order-${orders.length}` };
        orders.push(order);
        if (orders.length % 50_000 === 0) options.onProgress?.(orders.length);
        batch.push(order);
      }
      const work = (async () => {
        await runner.resumePending();
        for (const s of await listAll(inner, ["NEEDS_ATTENTION"])) {
          if (chance(f.resolution)) await runner.resolve(s, operator);
          else await runner.retry(s, operator);
        }
        const forced: Promise<void>[] = [];
        await Promise.all(
          batch.map((o) =>
            startOrder(runner, o).then(
              () => void (chance(f.forcedCompensation) && forced.push(forceLater(epoch, runner, o.sagaId!))),
              (err: unknown) => violate(`start ${o.key}: ${String(err)}`),
            ),
          ),
        );
        await Promise.all(forced); // before the epoch ends: an operator acts on this runner only
        await runner.idle();
        return false;
      })();
      const crashed = await Promise.race([work, store.crashed.then(() => true)]);
      if (crashed) {
        epoch.dead = true;
        report.crashes++;
        report.crashedAt[store.crashKind] = (report.crashedAt[store.crashKind] ?? 0) + 1;
        for (const o of batch) if (o.sagaId === undefined) unacked.push(o); // the client never got an answer
        for (let i = 0; i < 12; i++) await tick(); // in-flight calls land, queued writes commit
        if (options.reopenOnCrash) {
          await inner.close();
          inner = openStore();
        }
        continue;
      }
      if (orders.length >= options.sagas && unacked.length === 0) {
        const pending = (await inner.unfinished()).length + (await listAll(inner, ["NEEDS_ATTENTION"])).length;
        if (pending === 0) break;
      }
    }

  // Late deliveries still in the network arrive now; they must change nothing.
  while (delayed.length > 0) deliverDelayed();
  await check(inner, orders, services, forcedSagas, report, violate);
  await inner.close();
  report.elapsedMs = Math.round(performance.now() - started);
  return report;
}

async function listAll(store: SagaStore, statuses: SagaListQuery["statuses"]): Promise<string[]> {
  const ids: string[] = [];
  let after: SagaListQuery["after"];
  for (;;) {
    const page = await store.list({ ...(statuses && { statuses }), ...(after && { after }), limit: 1000 });
    for (const s of page) ids.push(s.header.sagaId);
    const last = page[page.length - 1];
    if (!last || page.length < 1000) return ids;
    after = { createdAt: last.header.createdAt, sagaId: last.header.sagaId };
  }
}

async function check(
  store: SagaStore,
  orders: { key: string; sagaId?: string }[],
  services: Map<string, FakeService>,
  forcedSagas: ReadonlySet<string>,
  report: SimulationReport,
  violate: (m: string) => void,
): Promise<void> {
  const all = await listAll(store, undefined);
  if (all.length !== orders.length) violate(`${all.length} sagas stored for ${orders.length} orders`);
  for (const order of orders) {
    if (order.sagaId === undefined) {
      violate(`${order.key} never acknowledged`);
      continue;
    }
    const stored = await store.load(order.sagaId);
    if (!stored) {
      violate(`${order.key}: saga ${order.sagaId} missing`);
      continue;
    }
    const saga = foldSaga(stored.header, stored.events);
    const id = saga.sagaId;
    const succeeded = new Map<string, number>();
    for (const e of stored.events) if (e.kind === "step-succeeded") succeeded.set(e.step!, (succeeded.get(e.step!) ?? 0) + 1);
    for (const [s, n] of succeeded) if (n > 1) violate(`${id}: step ${s} succeeded ${n} times in the log`);
    // Past the pivot nothing compensates, and a saga that compensates never confirms.
    const decidedAt = stored.events.findIndex((e) => e.kind === "saga-decided");
    const compensating = stored.events.some((e) => e.status === "COMPENSATING" || e.kind.startsWith("compensation-"));
    const confirming = stored.events.some((e) => e.kind.startsWith("confirmation-"));
    if (decidedAt >= 0 && compensating) violate(`${id}: decided, yet its log shows compensation`);
    if (confirming && decidedAt < 0) violate(`${id}: confirmations without a decision in its log`);
    if (stored.events.filter((e) => e.kind === "saga-decided").length > 1) violate(`${id}: decided twice`);
    if (decidedAt >= 0 && saga.status !== "COMPLETED" && saga.status !== "RESOLVED") violate(`${id}: decided but ended ${saga.status}`);
    if (forcedSagas.has(id) && saga.status !== "COMPENSATED" && saga.status !== "RESOLVED") {
      violate(`${id}: its forced compensation was acknowledged, yet it ended ${saga.status}`);
    }
    if (forcedSagas.has(id) && decidedAt >= 0) violate(`${id}: its forced compensation was acknowledged, yet it was decided`);
    if (saga.status === "COMPLETED") {
      report.completed++;
      if (decidedAt < 0) violate(`${id} COMPLETED without a decision in its log`);
      for (const [name, svc] of services) {
        const key = `${id}:${name}`;
        if (svc.state.get(key) !== "confirmed" || svc.applies.get(key) !== 1 || svc.confirms.get(key) !== 1 || svc.undos.has(key)) {
          violate(
            `${id} COMPLETED but ${name} is ${svc.state.get(key)} (applied ${svc.applies.get(key) ?? 0}×, confirmed ${svc.confirms.get(key) ?? 0}×)`,
          );
        }
        const r = saga.results[name] as { key?: string } | undefined;
        if (r?.key !== key) violate(`${id}: result of ${name} is ${JSON.stringify(r)}`);
      }
    } else if (saga.status === "COMPENSATED") {
      report.compensated++;
      if (saga.error?.code === "DEADLINE_EXCEEDED") report.deadlineCompensations++;
      if (saga.error?.message.startsWith("outcome unknown")) report.unknownOutcomeCompensations++;
      for (const [name, svc] of services) {
        const key = `${id}:${name}`;
        if (svc.state.get(key) === "applied") violate(`${id} COMPENSATED but ${name} is still applied`);
        if (svc.confirms.has(key)) violate(`${id} COMPENSATED but ${name} was confirmed`);
        if ((svc.undos.get(key) ?? 0) > 1) violate(`${id}: ${name} undone twice`);
      }
    } else if (saga.status === "RESOLVED") {
      report.resolved++; // settled by hand: the engine vouches for neither outcome
    } else {
      violate(`${id} ended ${saga.status}`);
    }
  }
}

/** The store as a process sees it: after the crash point, no write is acknowledged again. */
class CrashableStore implements SagaStore {
  #left: number;
  #dead = false;
  #crash!: () => void;
  crashKind = "";
  readonly crashed = new Promise<void>((r) => (this.#crash = r));

  constructor(
    private readonly inner: SagaStore,
    crashAfter: number,
    private readonly prng: () => number,
    private readonly onDurable: (e: SagaEvent) => void,
  ) {
    this.#left = crashAfter;
  }

  #write<T>(e: SagaEvent, go: () => Promise<T>): Promise<T> {
    if (this.#dead) return never();
    if (--this.#left <= 0) {
      this.#dead = true;
      this.crashKind = e.kind;
      this.#crash();
      // Killed around the commit: the write is durable or lost, and nobody hears back.
      if (this.prng() < 0.5)
        go().then(
          () => this.onDurable(e),
          () => {},
        );
      return never();
    }
    return go().then((r) => {
      this.onDurable(e);
      return r;
    });
  }

  create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    return this.#write(first, () => this.inner.create(header, first));
  }
  append(event: SagaEvent): Promise<void> {
    return this.#write(event, () => this.inner.append(event));
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

/**
 * One replica's view of the shared log: writes go through the ownership (fenced by epoch);
 * while the replica is paused its writes and reads wait; past its crash point it never hears
 * back again (the crashing write is durable or not, at random).
 */
class ReplicaStore implements SagaStore, SagaOwnership {
  #left: number;
  #dead = false;
  #crash!: () => void;
  crashKind = "";
  readonly crashed = new Promise<void>((r) => (this.#crash = r));

  constructor(
    private readonly inner: InMemorySagaStore,
    private readonly own: InMemorySagaOwnership,
    private readonly life: Epoch,
    crashAfter: number,
    private readonly prng: () => number,
    private readonly onDurable: (e: SagaEvent) => void,
    private readonly violate: (message: string) => void,
  ) {
    this.#left = crashAfter;
  }

  /** Killed between two writes (kill -9 at any moment): nothing it does is answered again. */
  kill(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.crashKind = "between-writes";
    this.#crash();
  }

  async #awake(): Promise<void> {
    while (this.life.gate) await this.life.gate;
    if (this.#dead) await never();
  }

  async #write<T>(e: SagaEvent, go: () => Promise<T>): Promise<T> {
    await this.#awake();
    if (--this.#left <= 0) {
      this.#dead = true;
      this.crashKind = e.kind;
      this.#crash();
      if (this.prng() < 0.5)
        go().then(
          () => this.onDurable(e),
          () => {},
        );
      return never();
    }
    const r = await go();
    this.onDurable(e);
    return r;
  }

  create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    this.violate(`${this.life.replicaId} created saga ${header.sagaId} without owning it`);
    return this.inner.create(header, first);
  }
  append(event: SagaEvent): Promise<void> {
    this.violate(`${this.life.replicaId} appended to saga ${event.sagaId} without its epoch`);
    return this.inner.append(event);
  }
  createOwned(header: SagaHeader, first: SagaEvent, ownerId: string, leaseMs: number): Promise<CreateResult> {
    return this.#write(first, () => this.own.createOwned(header, first, ownerId, leaseMs));
  }
  appendFenced(event: SagaEvent, epoch: number): Promise<void> {
    return this.#write(event, () => this.own.appendFenced(event, epoch));
  }
  async load(sagaId: string): Promise<StoredSaga | undefined> {
    await this.#awake();
    return this.inner.load(sagaId);
  }
  async list(query: SagaListQuery): Promise<StoredSaga[]> {
    await this.#awake();
    return this.inner.list(query);
  }
  async unfinished(): Promise<string[]> {
    await this.#awake();
    return this.inner.unfinished();
  }
  // Ownership statements are not held by a pause: the simulation does not send them while paused.
  claim(ownerId: string, leaseMs: number, limit: number): Promise<SagaClaim[]> {
    return this.#dead ? never() : this.own.claim(ownerId, leaseMs, limit);
  }
  renew(ownerId: string, leaseMs: number): Promise<SagaClaim[]> {
    return this.#dead ? never() : this.own.renew(ownerId, leaseMs);
  }
  take(sagaId: string, ownerId: string, leaseMs: number): Promise<SagaClaim | undefined> {
    return this.#dead ? never() : this.own.take(sagaId, ownerId, leaseMs);
  }
  release(ownerId: string): Promise<void> {
    return this.#dead ? never() : this.own.release(ownerId);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
