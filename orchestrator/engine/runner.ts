import { setMaxListeners } from "node:events";
/**
 * The saga runner: starts sagas, drives them step by step, compensates, and resumes them
 * from the log after a crash. Every transition is logged; the runner waits for durability
 * before acting wherever a crash could change what happens, and lets the rest (a step's start
 * and success) ride along with the next such write ({@link emit}), so a kill -9 at any
 * instant loses nothing that a resumed run would not redo the same way.
 */
import { createHash } from "node:crypto";
import {
  IdempotencyConflictError,
  SagaLimitError,
  SagaNotFoundError,
  SagaStateError,
  StepTimeoutError,
  UnknownDefinitionError,
} from "./errors.js";
import { isJson, type Json } from "./json.js";
import { decodePageToken, encodePageToken } from "#platform/page-token.js";
import { backoffDelay, MAX_TIMER_MS, sleep as realSleep } from "./retry.js";
import { newSagaId } from "./saga-id.js";
import type { SagaDefinition, SagaStep, StepContext } from "./saga.js";
import {
  applyEvent,
  copyRecord,
  type ErrorInfo,
  findStep,
  foldSaga,
  isTerminal,
  type SagaEvent,
  type SagaEventKind,
  type SagaHeader,
  type SagaRecord,
  type SagaStatus,
} from "./saga-record.js";
import type { SagaStore, StoredSaga } from "./saga-store.js";

/** Where the runner reports what it does; pino's logger fits. */
export interface RunnerLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  error(o: object, msg?: string): void;
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
}

/** A start request. An empty or missing idempotency key starts a new saga every time. */
export interface StartRequest {
  idempotencyKey?: string;
  input: Json;
  /** Identifies the request behind a key; defaults to a hash of the input. */
  fingerprint?: string;
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
  /**
   * Starts a saga on the highest registered version of `definitionName`, or returns the
   * saga that already holds the idempotency key (`created: false`). Resolves once
   * "saga-created" is durable; the saga then runs in the background.
   * @throws UnknownDefinitionError, IdempotencyConflictError (same key, other request),
   * SagaLimitError (maxInFlight reached), SagaStateError (runner closed), or the store's error.
   */
  start(definitionName: string, request: StartRequest): Promise<{ saga: SagaRecord; created: boolean }>;
  /** Resolves with the record once the saga is terminal, or at the timeout with its current record; undefined if unknown. */
  wait(sagaId: string, timeoutMs: number): Promise<SagaRecord | undefined>;
  /** The saga as its durable log describes it, or undefined. */
  get(sagaId: string): Promise<SagaRecord | undefined>;
  /**
   * Sagas newest first.
   * @throws InvalidPageTokenError on a token this engine did not issue.
   */
  list(query: ListQuery): Promise<{ sagas: SagaRecord[]; nextPageToken: string }>;
  /** Live events of one saga (or of all when `sagaId` is undefined), each after it is durable. Returns the unsubscribe function. */
  subscribe(sagaId: string | undefined, listener: (e: SagaEvent) => void): () => void;
  /**
   * Operator action: a NEEDS_ATTENTION saga goes back to COMPENSATING with a fresh
   * compensation budget. Resolves once that is durable.
   * @throws SagaNotFoundError, SagaStateError (not NEEDS_ATTENTION, or runner closed), UnknownDefinitionError.
   */
  retry(sagaId: string): Promise<SagaRecord>;
  /** At boot: resumes every RUNNING/COMPENSATING saga of the store from its log; returns how many. */
  resumePending(): Promise<number>;
  /** Sagas being driven now (including starts not yet durable). */
  inFlight(): number;
  /** Resolves when no saga is being driven (now or later). */
  idle(): Promise<void>;
  /** Stops starting and continuing work; unfinished sagas stay in the log for the next boot. The caller closes the store afterwards. */
  close(): Promise<void>;
}

interface Execution {
  readonly def: SagaDefinition<unknown>;
  readonly record: SagaRecord;
  sequence: number;
  /** Transitions held back to be logged with the next one, in the same group commit. */
  carried: SagaEvent[];
  /**
   * Resumed from the log after a crash or restart. Its log may end before steps that were
   * sent (starts and successes are carried, see {@link emit}), so if it turns to
   * compensation, it arms those steps first ({@link turnToCompensation}).
   */
  readonly resumed: boolean;
}

/** What one transition says: kind, the saga status after it, and its step, attempt, error and output where it has them. */
type Transition = [kind: SagaEventKind, status: SagaStatus, step?: string, attempt?: number, error?: ErrorInfo, output?: Json];

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown; timedOut: boolean };

const STOPPED: unique symbol = Symbol("runner stopped");
const silentLog: RunnerLog = { info() {}, warn() {}, error() {} };

/**
 * Creates a runner over a store and a set of definitions (several versions of one name
 * may be registered).
 * @throws TypeError when two definitions share a name and version.
 */
export function createRunner(options: RunnerOptions): Runner {
  const { store, isRetryable, describeError } = options;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const newId = options.newId ?? ((): string => newSagaId(Date.now()));
  const maxInFlight = options.maxInFlight ?? Infinity;
  const log = options.log ?? silentLog;

  const byName = new Map<string, Map<number, SagaDefinition<unknown>>>();
  const latest = new Map<string, SagaDefinition<unknown>>();
  for (const def of options.definitions as SagaDefinition<unknown>[]) {
    let versions = byName.get(def.name);
    if (!versions) byName.set(def.name, (versions = new Map()));
    if (versions.has(def.version)) throw new TypeError(`saga definition "${def.name}" v${def.version} registered twice`);
    versions.set(def.version, def);
    const best = latest.get(def.name);
    if (!best || best.version < def.version) latest.set(def.name, def);
  }

  const active = new Map<string, Execution>();
  const driving = new Set<Promise<void>>();
  const drives = new Map<string, Promise<void>>();
  const calls = new Map<(reason: Error) => void, (o: Outcome) => void>();
  const listeners = new Map<string, Set<(e: SagaEvent) => void>>();
  const allListeners = new Set<(e: SagaEvent) => void>();
  let idleWaiters: (() => void)[] = [];
  let pendingStarts = 0;
  let closed = false;
  const stop = new AbortController();
  // Every saga in backoff listens on this one signal; thousands at once are expected, not a leak.
  setMaxListeners(0, stop.signal);

  function definitionOf(name: string, version: number): SagaDefinition<unknown> | undefined {
    return byName.get(name)?.get(version);
  }

  function publish(e: SagaEvent): void {
    for (const l of allListeners) deliver(l, e);
    const set = listeners.get(e.sagaId);
    if (set) for (const l of set) deliver(l, e);
  }

  function deliver(l: (e: SagaEvent) => void, e: SagaEvent): void {
    try {
      l(e);
    } catch (err) {
      log.error({ err, sagaId: e.sagaId }, "saga event listener threw");
    }
  }

  /** The outputs of earlier steps, including successes still carried (not yet applied to the record). */
  function resultsWithCarried(results: Record<string, Json>, carried: readonly SagaEvent[]): Record<string, Json> {
    let merged: Record<string, Json> | undefined;
    for (const e of carried) {
      if (e.kind === "step-succeeded" && e.step !== undefined) (merged ??= { ...results })[e.step] = e.output ?? null;
    }
    return merged ?? results;
  }

  /** Holds a transition back to be logged with the next one (see {@link emit}). */
  function carry(x: Execution, ...[kind, status, step, attempt, error, output]: Transition): void {
    const e: SagaEvent = { sagaId: x.record.sagaId, sequence: x.sequence + x.carried.length + 1, kind, status, at: now() };
    if (step !== undefined) e.step = step;
    if (attempt !== undefined) e.attempt = attempt;
    if (error !== undefined) e.error = error;
    if (output !== undefined) e.output = output;
    x.carried.push(e);
  }

  /**
   * Logs a transition durably, then applies it and tells subscribers. Transitions carried
   * before it are appended in the same tick, so they share one group commit and are applied
   * in order, so the log is always a prefix of what happened. Carried are the transitions a
   * crash may lose without harm:
   * - a step's success: after a crash the step is sent again with its idempotency key, and
   *   the service answers with the first outcome;
   * - a step's start: the step may have been sent without its start in the log, so a resumed
   *   saga that turns to compensation arms every step after the last one it knows of
   *   ({@link turnToCompensation}).
   * Every decision that is not replayed the same way is awaited: the saga's creation (before
   * any step), a failure or deadline that turns it to compensation, each compensation's
   * start and end, and the final status (before anyone is told).
   */
  async function emit(x: Execution, ...transition: Transition): Promise<void> {
    carry(x, ...transition);
    const events = x.carried;
    x.carried = [];
    if (events.length === 1) await store.append(events[0]!);
    else await Promise.all(events.map((e) => store.append(e)));
    for (const done of events) {
      x.sequence = done.sequence;
      applyEvent(x.record, done);
      publish(done);
    }
  }

  /** Calls an action or compensation under its timeout; never rejects. */
  function call<I>(
    x: Execution,
    fn: (ctx: StepContext<I>) => Promise<unknown>,
    stepName: string,
    attempt: number,
    timeoutMs: number,
  ): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      // The abort signal is made only if the step reads it: a step that passes its timeoutMs
      // on as the RPC deadline needs none, and an AbortController per call is measurable.
      let controller: AbortController | undefined;
      let settled = false;
      const finish = (o: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        calls.delete(abort);
        resolve(o);
      };
      const abort = (reason: Error): void => controller?.abort(reason);
      const timer = setTimeout(() => {
        const err = new StepTimeoutError(stepName, timeoutMs);
        abort(err);
        finish({ ok: false, error: err, timedOut: true });
      }, Math.min(timeoutMs, MAX_TIMER_MS));
      calls.set(abort, finish);
      const r = x.record;
      const ctx: StepContext<I> = {
        sagaId: r.sagaId,
        key: `${r.sagaId}:${stepName}`,
        input: r.input as I,
        results: resultsWithCarried(r.results, x.carried),
        attempt,
        timeoutMs,
        get signal() {
          return (controller ??= new AbortController()).signal;
        },
      };
      let p: Promise<unknown>;
      try {
        p = fn(ctx);
      } catch (error) {
        finish({ ok: false, error, timedOut: false });
        return;
      }
      Promise.resolve(p).then(
        (value) => finish({ ok: true, value }),
        (error: unknown) => finish({ ok: false, error, timedOut: false }),
      );
    });
  }

  function describe(o: Extract<Outcome, { ok: false }>): ErrorInfo {
    if (o.timedOut) return { code: "DEADLINE_EXCEEDED", message: (o.error as Error).message };
    try {
      return describeError(o.error);
    } catch {
      return { code: "UNKNOWN", message: String(o.error) };
    }
  }

  function retryable(o: Extract<Outcome, { ok: false }>): boolean {
    if (o.timedOut) return true;
    try {
      return isRetryable(o.error);
    } catch {
      return false;
    }
  }

  async function pause(ms: number): Promise<void> {
    if (ms > 0) await sleep(ms, stop.signal);
    if (closed) throw STOPPED;
  }

  async function runActions(x: Execution): Promise<void> {
    const { def, record } = x;
    const deadline = record.createdAt + def.deadlineMs;
    const deadlineError = (): ErrorInfo => ({
      code: "DEADLINE_EXCEEDED",
      message: `saga deadline of ${def.deadlineMs} ms passed`,
    });
    for (const s of def.steps) {
      const rec = findStep(record, s.name, "action");
      if (rec?.status === "SUCCEEDED") continue; // replayed from the log, never called again
      let attempt: number;
      if (rec === undefined) {
        if (now() >= deadline) {
          await turnToCompensation(x, "saga-deadline-exceeded", undefined, undefined, deadlineError());
          return;
        }
        carry(x, "step-started", "RUNNING", s.name, 1);
        attempt = 1;
      } else {
        // Started, outcome unknown (crash): call again with the same key.
        attempt = rec.lastError ? rec.attempts + 1 : rec.attempts;
        if (now() >= deadline) {
          await turnToCompensation(x, "step-failed", s.name, rec.attempts, deadlineError());
          return;
        }
      }
      for (;;) {
        const o = await call(x, s.action, s.name, attempt, s.retry.timeoutMs);
        if (closed) throw STOPPED;
        if (o.ok) {
          const output = o.value === undefined ? null : o.value;
          if (!isJson(output)) {
            const error = { code: "INTERNAL", message: `step "${s.name}" returned a value that is not plain JSON` };
            log.error({ sagaId: record.sagaId, step: s.name }, error.message);
            await turnToCompensation(x, "step-failed", s.name, attempt, error);
            return;
          }
          carry(x, "step-succeeded", "RUNNING", s.name, attempt, undefined, output);
          break;
        }
        const error = describe(o);
        if (!retryable(o)) {
          await turnToCompensation(x, "step-failed", s.name, attempt, error);
          return;
        }
        if (attempt >= s.retry.maxAttempts) {
          const message = `outcome unknown after ${attempt} attempts: ${error.message}`;
          await turnToCompensation(x, "step-failed", s.name, attempt, { code: error.code, message });
          return;
        }
        if (now() >= deadline) {
          await turnToCompensation(x, "step-failed", s.name, attempt, deadlineError());
          return;
        }
        await emit(x, "step-attempt-failed", "RUNNING", s.name, attempt, error);
        await pause(Math.min(backoffDelay(s.retry, attempt, random), Math.max(0, deadline - now())));
        attempt++;
      }
    }
    await emit(x, "saga-completed", "COMPLETED");
  }

  async function runCompensations(x: Execution): Promise<void> {
    const { record } = x;
    const scope = compensationScope(x);
    for (let i = scope.length - 1; i >= 0; i--) {
      const s = scope[i]!;
      const name = s.name;
      if (!s.compensate) continue;
      const compensate = s.compensate;
      const rec = findStep(record, name, "compensation");
      if (rec?.status === "SUCCEEDED") continue;
      let attempt: number;
      if (rec === undefined || rec.status === "FAILED") {
        await emit(x, "compensation-started", "COMPENSATING", name, 1);
        if (closed) throw STOPPED;
        attempt = 1;
      } else {
        attempt = rec.lastError ? rec.attempts + 1 : rec.attempts;
      }
      const policy = s.compensationRetry;
      for (;;) {
        const o = await call(x, compensate, name, attempt, policy.timeoutMs);
        if (closed) throw STOPPED;
        if (o.ok) {
          await emit(x, "compensation-succeeded", "COMPENSATING", name, attempt);
          if (closed) throw STOPPED;
          break;
        }
        const error = describe(o);
        if (attempt >= policy.attentionAfter) {
          await emit(x, "saga-needs-attention", "NEEDS_ATTENTION", name, attempt, error);
          log.error(
            { sagaId: record.sagaId, step: name, attempts: attempt, error },
            "compensation out of retries: saga needs attention",
          );
          return;
        }
        await emit(x, "compensation-attempt-failed", "COMPENSATING", name, attempt, error);
        log.warn({ sagaId: record.sagaId, step: name, attempt, error }, "compensation attempt failed; retrying");
        await pause(backoffDelay(policy, attempt, random));
        attempt++;
      }
    }
    await emit(x, "saga-compensated", "COMPENSATED");
  }

  /**
   * Logs the decision to compensate (a step's failure or the saga's deadline). A resumed saga
   * first arms every step after the last action it knows of: the run before the crash may
   * have sent them while their starts were still carried. The arms are logged with the
   * decision, so every later run (after another crash, or an operator retry) compensates
   * them too; a compensation that reaches a step never sent is recorded and refuses the late
   * action (DESIGN.md, semantics 3).
   */
  async function turnToCompensation(
    x: Execution,
    kind: "step-failed" | "saga-deadline-exceeded",
    step: string | undefined,
    attempt: number | undefined,
    error: ErrorInfo,
  ): Promise<void> {
    if (x.resumed) {
      const known = new Set<string>();
      for (const r of x.record.steps) if (r.phase === "action") known.add(r.name);
      for (const e of x.carried) if (e.kind === "step-started" && e.step !== undefined) known.add(e.step);
      let last = -1;
      x.def.steps.forEach((s, i) => {
        if (known.has(s.name)) last = i;
      });
      for (const s of x.def.steps.slice(last + 1)) if (s.compensate) carry(x, "step-started", "RUNNING", s.name, 1);
    }
    await emit(x, kind, "COMPENSATING", step, attempt, error);
  }

  /** The steps to compensate, in definition order: every step the log shows started or compensating. */
  function compensationScope(x: Execution): Array<SagaStep<unknown>> {
    const logged = new Set<string>();
    for (const r of x.record.steps) logged.add(r.name);
    return x.def.steps.filter((s) => logged.has(s.name));
  }

  async function drive(x: Execution): Promise<void> {
    try {
      if (x.record.status === "RUNNING") await runActions(x);
      if (x.record.status === "COMPENSATING") await runCompensations(x);
    } catch (err) {
      if (err !== STOPPED) {
        log.error({ err, sagaId: x.record.sagaId }, "saga stopped: its log could not be written; it resumes on next boot");
      }
    } finally {
      active.delete(x.record.sagaId);
      maybeIdle();
    }
  }

  function launch(x: Execution): void {
    active.set(x.record.sagaId, x);
    const p = drive(x);
    driving.add(p);
    drives.set(x.record.sagaId, p);
    void p.finally(() => {
      driving.delete(p);
      if (drives.get(x.record.sagaId) === p) drives.delete(x.record.sagaId);
    });
  }

  function maybeIdle(): void {
    if (active.size === 0 && pendingStarts === 0) wakeIdle();
  }

  function wakeIdle(): void {
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  function fromStored(stored: StoredSaga): SagaRecord {
    return foldSaga(stored.header, stored.events);
  }

  async function get(sagaId: string): Promise<SagaRecord | undefined> {
    const stored = await store.load(sagaId);
    return stored && fromStored(stored);
  }

  function subscribe(sagaId: string | undefined, listener: (e: SagaEvent) => void): () => void {
    if (sagaId === undefined) {
      allListeners.add(listener);
      return () => void allListeners.delete(listener);
    }
    let set = listeners.get(sagaId);
    if (!set) listeners.set(sagaId, (set = new Set()));
    set.add(listener);
    const mine = set;
    return () => {
      mine.delete(listener);
      if (mine.size === 0 && listeners.get(sagaId) === mine) listeners.delete(sagaId);
    };
  }

  return {
    async start(definitionName, request) {
      const def = latest.get(definitionName);
      if (!def) throw new UnknownDefinitionError(definitionName);
      if (closed) throw new SagaStateError("", "the saga runner is closed");
      if (active.size + pendingStarts >= maxInFlight) throw new SagaLimitError(maxInFlight);
      const sagaId = newId();
      const key = request.idempotencyKey ?? "";
      const fingerprint =
        request.fingerprint ??
        (key === "" ? "" : createHash("sha256").update(JSON.stringify(request.input)).digest("base64url"));
      const header: SagaHeader = {
        sagaId,
        idempotencyKey: key === "" ? sagaId : key,
        fingerprint,
        definitionName: def.name,
        definitionVersion: def.version,
        input: request.input,
        createdAt: now(),
      };
      const first: SagaEvent = { sagaId, sequence: 1, kind: "saga-created", status: "RUNNING", at: header.createdAt };
      pendingStarts++;
      let result;
      try {
        result = await store.create(header, first);
      } catch (err) {
        pendingStarts--;
        maybeIdle();
        throw err;
      }
      pendingStarts--;
      if (!result.created || closed) maybeIdle();
      if (!result.created) {
        const existing = fromStored(result.existing);
        if (existing.fingerprint !== fingerprint || existing.definitionName !== def.name) {
          throw new IdempotencyConflictError(key, existing.sagaId);
        }
        return { saga: existing, created: false };
      }
      const record = foldSaga(header, [first]);
      const x: Execution = { def, record, sequence: 1, carried: [], resumed: false };
      publish(first);
      if (closed) return { saga: copyRecord(record), created: true }; // resumes on next boot
      launch(x);
      return { saga: copyRecord(record), created: true };
    },

    wait(sagaId, timeoutMs) {
      return new Promise<SagaRecord | undefined>((resolve, reject) => {
        let done = false;
        let timer: NodeJS.Timeout | undefined;
        const finish = (): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          unsubscribe();
          get(sagaId).then(resolve, reject);
        };
        const unsubscribe = subscribe(sagaId, (e) => {
          if (!isTerminal(e.status)) return;
          const x = active.get(sagaId);
          if (!x || done) return finish();
          // The event is durable and already applied to the record: no need to read it back.
          done = true;
          clearTimeout(timer);
          unsubscribe();
          resolve(copyRecord(x.record));
        });
        timer = setTimeout(finish, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
        if (active.has(sagaId)) return; // running here: not terminal yet
        get(sagaId).then((r) => {
          if (done || (r && !isTerminal(r.status))) return;
          done = true;
          clearTimeout(timer);
          unsubscribe();
          resolve(r);
        }, reject);
      });
    },

    get,

    async list(query) {
      const pageSize = Math.min(1000, Math.max(1, Math.floor(query.pageSize ?? 50) || 50));
      const after = query.pageToken ? decodePageToken(query.pageToken) : undefined;
      const rows = await store.list({
        ...(query.statuses && { statuses: query.statuses }),
        ...(query.createdAfter !== undefined && { createdAfter: query.createdAfter }),
        ...(query.createdBefore !== undefined && { createdBefore: query.createdBefore }),
        ...(after && { after }),
        limit: pageSize + 1,
      });
      const page = rows.length > pageSize ? rows.slice(0, pageSize) : rows;
      const last = page[page.length - 1];
      const nextPageToken =
        rows.length > pageSize && last
          ? encodePageToken({ createdAt: last.header.createdAt, sagaId: last.header.sagaId })
          : "";
      return { sagas: page.map(fromStored), nextPageToken };
    },

    subscribe,

    async retry(sagaId) {
      if (closed) throw new SagaStateError(sagaId, "the saga runner is closed");
      // A saga that has just turned NEEDS_ATTENTION may still be winding down its drive.
      if (active.get(sagaId)?.record.status === "NEEDS_ATTENTION") await drives.get(sagaId);
      if (active.has(sagaId)) throw new SagaStateError(sagaId, `saga ${sagaId} is being driven`);
      const stored = await store.load(sagaId);
      if (!stored) throw new SagaNotFoundError(sagaId);
      const record = fromStored(stored);
      if (record.status !== "NEEDS_ATTENTION") {
        throw new SagaStateError(sagaId, `saga ${sagaId} is ${record.status}, not NEEDS_ATTENTION`);
      }
      const def = definitionOf(record.definitionName, record.definitionVersion);
      if (!def) throw new UnknownDefinitionError(record.definitionName, record.definitionVersion);
      if (active.has(sagaId)) throw new SagaStateError(sagaId, `saga ${sagaId} is being driven`);
      const x: Execution = { def, record, sequence: stored.events.length, carried: [], resumed: false };
      active.set(sagaId, x);
      try {
        await emit(x, "saga-retried", "COMPENSATING");
      } catch (err) {
        active.delete(sagaId);
        maybeIdle();
        throw err;
      }
      log.info({ sagaId }, "saga retried by operator: compensating again");
      const snapshot = copyRecord(record);
      active.delete(sagaId);
      if (!closed) launch(x);
      return snapshot;
    },

    async resumePending() {
      if (closed) return 0;
      const ids = await store.unfinished();
      let resumed = 0;
      for (const id of ids) {
        if (closed) break;
        if (active.has(id)) continue;
        const stored = await store.load(id);
        if (!stored || active.has(id)) continue;
        const { header } = stored;
        const def = definitionOf(header.definitionName, header.definitionVersion);
        if (!def) {
          log.error(
            { sagaId: id, definition: header.definitionName, version: header.definitionVersion },
            "cannot resume saga: its definition version is not registered; left untouched",
          );
          continue;
        }
        const record = fromStored(stored);
        if (isTerminal(record.status)) continue;
        launch({ def, record, sequence: stored.events.length, carried: [], resumed: true });
        resumed++;
      }
      if (resumed > 0) log.info({ resumed }, "resumed unfinished sagas from the log");
      return resumed;
    },

    inFlight() {
      return active.size + pendingStarts;
    },

    idle() {
      if (active.size === 0 && pendingStarts === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },

    async close() {
      if (!closed) {
        closed = true;
        stop.abort(new Error("saga runner closed"));
        for (const [abort, finish] of calls) {
          abort(new Error("saga runner closed"));
          finish({ ok: false, error: new Error("saga runner closed"), timedOut: false });
        }
      }
      await Promise.allSettled([...driving]);
      wakeIdle();
    },
  };
}
