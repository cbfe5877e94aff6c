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
  };
}
