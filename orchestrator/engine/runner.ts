/**
 * The saga runner: starts sagas, drives them step by step, confirms them past their pivot or
 * compensates them, and resumes them from the log after a crash. This file is its public face; each concern lives in its own
 * file over one shared state (runner-state.ts):
 * - saga-start.ts: idempotent starts; saga-lifecycle.ts: drives, resume at boot, idle, close;
 * - action-driver.ts, then confirmation-driver.ts or compensation-driver.ts;
 * - step-call.ts: one call under its timeout; saga-log-writer.ts: carried and durable writes;
 * - saga-queries.ts, saga-waits.ts, saga-events.ts: reads, waits and live events;
 * - operator-actions.ts: retry, forced compensation, resolution by hand;
 * - definition-registry.ts: definitions by name and version; execution.ts: one driven saga;
 * - saga-leases.ts, saga-fencing.ts: ownership among replicas sharing one log (leases, claims, fencing);
 *   saga-remote-events.ts: other replicas' events for the listeners that want them.
 * Every transition is logged; the runner waits for durability before acting wherever a crash
 * could change what happens, so a kill -9 at any instant loses nothing that a resumed run
 * would not redo the same way.
 */
import type { Json } from "./json.js";
import type { SagaDefinition } from "./saga.js";
import type { ErrorInfo, OperatorNote, SagaEvent, SagaRecord, SagaStatus } from "./saga-record.js";
import type { SagaStore } from "./saga-store.js";
import type { SagaMetrics } from "./saga-metrics.js";
import type { SagaOwnership } from "./saga-ownership.js";
import type { SagaChangeFeed } from "./saga-change-feed.js";
import { followOtherReplicas } from "./saga-remote-events.js";
import { createRunnerState } from "./runner-state.js";
import { claimSagas, renewLeases } from "./saga-leases.js";
import { close, idle, inFlight, resumePending } from "./saga-lifecycle.js";
import { getSaga, listSagas } from "./saga-queries.js";
import { waitForSaga, type WaitUntil } from "./saga-waits.js";
import { startSaga } from "./saga-start.js";
import { forceCompensation, resolveSaga, retrySaga } from "./operator-actions.js";

export type { WaitUntil };

/** Where the runner reports what it does; pino's logger fits. */
export interface RunnerLog {
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
}

/** Everything the runner depends on, injected. */
export interface RunnerOptions {
  store: SagaStore;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- definitions of any input type
  definitions: SagaDefinition<any>[];
  /** true: transient (retry with backoff); false: business failure (compensate). */
  isRetryable(err: unknown): boolean;
  /** How an error is logged and reported. */
  describeError(err: unknown): ErrorInfo;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** New saga ids (default: time-ordered UUIDv7, see saga-id.ts). Injected for deterministic simulations. */
  newId?: () => string;
  /** Most sagas driven at once; past it `start()` throws SagaLimitError (default: unlimited). */
  maxInFlight?: number;
  log?: RunnerLog;
  /** Told of every durable transition and every call's outcome and duration (default: none). */
  metrics?: SagaMetrics;
  /**
   * Replicas sharing one log (PostgreSQL): this runner drives only the sagas it owns, writes
   * each with its epoch, and takes over sagas whose owner's lease ran out. Absent: the runner
   * is the log's only owner (SQLite) and resumes every unfinished saga at boot.
   */
  ownership?: RunnerOwnership;
  /**
   * News of sagas other replicas write (PostgreSQL: LISTEN/NOTIFY), so that waits and
   * `subscribe(…, { everywhere: true })` hear of every saga of the log, not only those driven here.
   */
  changeFeed?: SagaChangeFeed;
}

/** How a runner shares its log with other replicas (see saga-leases.ts). */
export interface RunnerOwnership {
  /** The store's ownership side (the same object as the store, on PostgreSQL). */
  port: SagaOwnership;
  /** This replica's id, the owner of the sagas it drives: unique among the replicas of a log. */
  replicaId: string;
  /** How long a claim or a renewal holds a saga, on the database's clock. */
  leaseMs: number;
  /** How often the leases are renewed (default leaseMs / 3). */
  renewEveryMs?: number;
  /** How often sagas whose lease ran out are looked for (default 250 ms). */
  claimEveryMs?: number;
  /** Most sagas taken by one claim (default 500); a claim never takes more than `maxInFlight` leaves room for. */
  claimBatch?: number;
  /**
   * false: no timers; the caller calls `renewLeases()` and `claimSagas()` itself (a simulation
   * on a virtual clock, a test that freezes a replica). Default true: `resumePending()` starts them.
   */
  timers?: boolean;
}

/** A start request. An empty or missing idempotency key starts a new saga every time. */
export interface StartRequest {
  idempotencyKey?: string;
  input: Json;
  /** Identifies the request behind a key; defaults to a hash of the input. */
  fingerprint?: string;
  /**
   * The starter's trace context (a W3C traceparent), kept with the saga, opaque to the engine:
   * a saga resumed later, by another process, continues the trace that started it.
   */
  traceContext?: string;
}

/** Filters and paging of {@link Runner.list}. */
export interface ListQuery {
  statuses?: SagaStatus[];
  /** createdAt ≥ this (ms). */
  createdAfter?: number;
  /** createdAt < this (ms). */
  createdBefore?: number;
  /** 1…1000, default 50. */
  pageSize?: number;
  pageToken?: string;
}

/** The runner's API. */
export interface Runner {
  /** This replica's id when the runner shares its log with others (`RunnerOptions.ownership`), else undefined. */
  readonly replicaId: string | undefined;
  /**
   * Starts a saga on the highest registered version of `definitionName`, or returns the
   * saga that already holds the idempotency key (`created: false`). Resolves once
   * "saga-created" is durable; the saga then runs in the background.
   * @throws UnknownDefinitionError, IdempotencyConflictError (same key, other request),
   * SagaLimitError (maxInFlight reached), SagaStateError (runner closed), or the store's error.
   */
  start(definitionName: string, request: StartRequest): Promise<{ saga: SagaRecord; created: boolean }>;
  /**
   * Resolves with the record once the saga is terminal (or, with `until` = "decided", once its
   * outcome is decided: CONFIRMING or terminal), or at the timeout with its current record;
   * undefined if unknown.
   */
  wait(sagaId: string, timeoutMs: number, until?: WaitUntil): Promise<SagaRecord | undefined>;
  /** The saga as its durable log describes it, or undefined. */
  get(sagaId: string): Promise<SagaRecord | undefined>;
  /**
   * Sagas newest first.
   * @throws InvalidPageTokenError on a token this engine did not issue.
   */
  list(query: ListQuery): Promise<{ sagas: SagaRecord[]; nextPageToken: string }>;
  /**
   * Live events of one saga (or of all when `sagaId` is undefined), each after it is durable.
   * Only the sagas driven here, unless `everywhere` (with a change feed: those of other
   * replicas too, read back from the log). Returns the unsubscribe function.
   */
  subscribe(sagaId: string | undefined, listener: (e: SagaEvent) => void, options?: { everywhere?: boolean }): () => void;
  /**
   * Operator action: a NEEDS_ATTENTION saga goes back to CONFIRMING (if it was decided) or
   * COMPENSATING with a fresh budget. Resolves once that is durable; `note` (who, why) is logged.
   * @throws InvalidOperatorNoteError, SagaNotFoundError, SagaStateError (not NEEDS_ATTENTION, or runner closed), UnknownDefinitionError.
   */
  retry(sagaId: string, note: OperatorNote): Promise<SagaRecord>;
  /**
   * Operator action: a saga not yet decided (RUNNING, or NEEDS_ATTENTION during compensation)
   * compensates. Resolves once the turn is durable; `note` (who, why) is logged.
   * @throws InvalidOperatorNoteError, SagaNotFoundError, SagaStateError (decided, compensating, finished, or runner closed), UnknownDefinitionError.
   */
  forceCompensate(sagaId: string, note: OperatorNote): Promise<SagaRecord>;
  /**
   * Operator action: a NEEDS_ATTENTION saga was settled by hand and becomes RESOLVED
   * (terminal). Resolves once that is durable; `note` (who, why) is logged.
   * @throws InvalidOperatorNoteError, SagaNotFoundError, SagaStateError (not NEEDS_ATTENTION, or runner closed), UnknownDefinitionError.
   */
  resolve(sagaId: string, note: OperatorNote): Promise<SagaRecord>;
  /**
   * At boot: resumes every RUNNING/CONFIRMING/COMPENSATING saga of the store from its log;
   * returns how many. With ownership: claims the unfinished sagas nobody holds (paced by
   * `maxInFlight`) and starts the renewal and claim timers.
   */
  resumePending(): Promise<number>;
  /**
   * With ownership: extends the leases of the sagas this runner owns; one it no longer owns is
   * dropped at once, one it owns but does not drive is loaded and driven. Rejects with the
   * store's error. Without ownership: does nothing.
   */
  renewLeases(): Promise<void>;
  /** With ownership: takes sagas whose lease ran out (as many as `maxInFlight` leaves room for) and drives them; returns how many. */
  claimSagas(): Promise<number>;
  /** Sagas being driven now (including starts not yet durable). */
  inFlight(): number;
  /** Resolves when no saga is being driven (now or later). */
  idle(): Promise<void>;
  /** Stops starting and continuing work; unfinished sagas stay in the log for the next boot. The caller closes the store afterwards. */
  close(): Promise<void>;
}

/**
 * Creates a runner over a store and a set of definitions (several versions of one name
 * may be registered).
 * @throws TypeError when two definitions share a name and version.
 */
export function createRunner(options: RunnerOptions): Runner {
  const state = createRunnerState(options);
  if (options.changeFeed) state.stopFollowing = followOtherReplicas(state, options.changeFeed);
  return {
    replicaId: state.owner?.replicaId,
    start: (definitionName, request) => startSaga(state, definitionName, request),
    wait: (sagaId, timeoutMs, until) => waitForSaga(state, sagaId, timeoutMs, until),
    get: (sagaId) => getSaga(state, sagaId),
    list: (query) => listSagas(state, query),
    subscribe: (sagaId, listener, options) => state.events.subscribe(sagaId, listener, options?.everywhere ?? false),
    retry: (sagaId, note) => retrySaga(state, sagaId, note),
    forceCompensate: (sagaId, note) => forceCompensation(state, sagaId, note),
    resolve: (sagaId, note) => resolveSaga(state, sagaId, note),
    resumePending: () => resumePending(state),
    renewLeases: () => renewLeases(state),
    claimSagas: () => claimSagas(state),
    inFlight: () => inFlight(state),
    idle: () => idle(state),
    close: () => close(state),
  };
}
