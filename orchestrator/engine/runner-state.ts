/**
 * The state one runner's parts share: its injected dependencies, the sagas it drives, the
 * calls in flight, and whether it is closing. Each concern (actions, compensations, waits,
 * lifecycle…) is a file of functions over this one object.
 */
import { setMaxListeners } from "node:events";
import { createDefinitionRegistry, type DefinitionRegistry } from "./definition-registry.js";
import type { ErrorInfo } from "./saga-record.js";
import { createSagaEventHub, type SagaEventHub } from "./saga-events.js";
import type { Execution } from "./execution.js";
import { sleep as realSleep } from "./retry.js";
import { newSagaId } from "./saga-id.js";
import type { SagaDefinition } from "./saga.js";
import type { SagaStore } from "./saga-store.js";
import type { SagaMetrics } from "./saga-metrics.js";
import type { SagaOwnership } from "./saga-ownership.js";
import type { RunnerLog, RunnerOptions } from "./runner.js";

/** How a call of an action, compensation or confirmation ended. */
export type CallOutcome = { ok: true; value: unknown } | { ok: false; error: unknown; timedOut: boolean };

/** Everything the parts of one runner share. */
export interface RunnerState {
  readonly store: SagaStore;
  readonly definitions: DefinitionRegistry;
  readonly isRetryable: (error: unknown) => boolean;
  readonly describeError: (error: unknown) => ErrorInfo;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
  readonly newId: () => string;
  readonly maxInFlight: number;
  readonly log: RunnerLog;
  readonly metrics: SagaMetrics | undefined;
  readonly events: SagaEventHub;
  /** Sagas being driven (or acted on by an operator) here, by saga id. */
  readonly executions: Map<string, Execution>;
  /** Every drive not yet finished, for `close()` to await. */
  readonly drives: Set<Promise<void>>;
  /** The latest drive of each saga, for an operator action to await its wind-down. */
  readonly driveBySaga: Map<string, Promise<void>>;
  /** Calls in flight: how to abort each, and how to settle it, for `close()`. */
  readonly callsInFlight: Map<(reason: Error) => void, (outcome: CallOutcome) => void>;
  /** Resolvers of `idle()` promises. */
  idleWaiters: (() => void)[];
  /** Starts whose creation is not yet durable. */
  pendingStarts: number;
  closed: boolean;
  /** Aborted by `close()`: wakes every saga in backoff. */
  readonly stop: AbortController;
  /** Stops publishing other replicas' events (set when the runner follows a change feed). */
  stopFollowing: (() => void) | undefined;
  /** Set when sagas are owned among replicas (PostgreSQL): this runner drives only the sagas it owns. */
  readonly owner: OwnerState | undefined;
}

/** A replica's ownership of sagas: who it is, its lease, and its renewal and claim timers. */
export interface OwnerState {
  readonly port: SagaOwnership;
  readonly replicaId: string;
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly claimEveryMs: number;
  readonly claimBatch: number;
  readonly timers: boolean;
  /**
   * Moves on by one as each renewal is sent. An execution remembers the value when its saga
   * became its own, so a renewal answered without a saga that became its own after the
   * renewal was sent does not drop it.
   */
  generation: number;
  /** Sagas a renewal found owned here but not driven, being loaded to be driven. */
  readonly adopting: Set<string>;
  /** Sagas owned here whose definition version is not registered: not loaded again and again. */
  readonly unresumable: Set<string>;
  /** The timers of the renewal and claim loops, cleared by `close()`. */
  readonly loops: Set<NodeJS.Timeout>;
  /** Whether the last renewal or claim failed (to log only the changes). */
  failing: boolean;
}

/** Thrown inside a drive when another replica took its saga over (its epoch moved); the drive ends, writing nothing more. */
export const FENCED: unique symbol = Symbol("saga taken over");

/** Ends a drive that must stop here: the runner closed, or the saga was taken over. */
export function halt(state: RunnerState, execution: { fenced: boolean }): void {
  if (state.closed) throw STOPPED;
  if (execution.fenced) throw FENCED;
}

function checkReplicaId(id: string): string {
  if (typeof id !== "string" || id.trim() === "" || id.includes("\u0000") || id.length > 200) {
    throw new TypeError(`replica id ${JSON.stringify(id)} must be 1 to 200 characters, not blank, without U+0000`);
  }
  return id;
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`ownership.${name} is ${value}: it must be a whole number ≥ 1`);
  return value;
}

/** Thrown inside a drive when the runner closed under it; the drive ends quietly. */
export const STOPPED: unique symbol = Symbol("runner stopped");

const silentLog: RunnerLog = { info() {}, warn() {}, error() {} };

/**
 * The shared state of a new runner, defaults filled in.
 * @throws TypeError when two definitions share a name and version.
 */
export function createRunnerState(options: RunnerOptions): RunnerState {
  const log = options.log ?? silentLog;
  const stop = new AbortController();
  // Every saga in backoff listens on this one signal; thousands at once are expected, not a leak.
  setMaxListeners(0, stop.signal);
  return {
    store: options.store,
    definitions: createDefinitionRegistry(options.definitions as SagaDefinition<unknown>[]),
    isRetryable: options.isRetryable,
    describeError: options.describeError,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? realSleep,
    random: options.random ?? Math.random,
    newId: options.newId ?? ((): string => newSagaId(Date.now())),
    maxInFlight: options.maxInFlight ?? Infinity,
    log,
    metrics: options.metrics,
    events: createSagaEventHub((error, event) => log.error({ err: error, sagaId: event.sagaId }, "saga event listener threw")),
    executions: new Map(),
    drives: new Set(),
    driveBySaga: new Map(),
    callsInFlight: new Map(),
    idleWaiters: [],
    pendingStarts: 0,
    closed: false,
    stop,
    stopFollowing: undefined,
    owner: options.ownership && {
      port: options.ownership.port,
      replicaId: checkReplicaId(options.ownership.replicaId),
      leaseMs: positive("leaseMs", options.ownership.leaseMs),
      renewEveryMs: positive("renewEveryMs", options.ownership.renewEveryMs ?? Math.max(1, Math.floor(options.ownership.leaseMs / 3))),
      claimEveryMs: positive("claimEveryMs", options.ownership.claimEveryMs ?? 250),
      claimBatch: positive("claimBatch", options.ownership.claimBatch ?? 500),
      timers: options.ownership.timers ?? true,
      generation: 0,
      adopting: new Set(),
      unresumable: new Set(),
      loops: new Set(),
      failing: false,
    },
  };
}
