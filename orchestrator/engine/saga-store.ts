/**
 * The saga log's port. Async and free of any database type, so PostgreSQL can implement
 * it later; `InMemorySagaStore` (tests, simulation) and `SqliteSagaStore` (embedded
 * default) implement it now and pass the same contract tests.
 */
import type { SagaCursor } from "#platform/page-token.js";
import { type SagaEvent, type SagaHeader, type SagaStatus, UNFINISHED_STATUSES } from "./saga-record.js";

/** A saga as stored: its header and its log in sequence order. */
export interface StoredSaga {
  header: SagaHeader;
  events: SagaEvent[];
}

/** Filters and keyset position of one page; results come newest first (createdAt desc, sagaId desc). */
export interface SagaListQuery {
  /** Only sagas whose current status is one of these (all when absent or empty). */
  statuses?: readonly SagaStatus[];
  /** createdAt ≥ this. */
  createdAfter?: number;
  /** createdAt < this. */
  createdBefore?: number;
  /** Only sagas strictly after this one in the sort order. */
  after?: SagaCursor;
  limit: number;
}

/** Outcome of `create`: new, or the saga that already holds the idempotency key. */
export type CreateResult = { created: true } | { created: false; existing: StoredSaga };

/** The durable saga log. Every write resolves only once it is durable. */
export interface SagaStore {
  /**
   * Writes a new saga with its first event, unless its idempotency key is taken: then
   * nothing is written and the saga holding the key is returned. Atomic: one key, one saga.
   */
  create(header: SagaHeader, first: SagaEvent): Promise<CreateResult>;
  /**
   * Appends one event and sets the saga's current status to `event.status`.
   * Rejects if the saga does not exist or the sequence number is taken.
   */
  append(event: SagaEvent): Promise<void>;
  /** The saga and its log, or undefined. */
  load(sagaId: string): Promise<StoredSaga | undefined>;
  /** One page of sagas, newest first. */
  list(query: SagaListQuery): Promise<StoredSaga[]>;
  /** Ids of sagas whose status is unfinished (RUNNING, CONFIRMING or COMPENSATING: `UNFINISHED_STATUSES`), oldest first. */
  unfinished(): Promise<string[]>;
  /** Finishes pending writes and releases the store; later calls reject. */
  close(): Promise<void>;
}

interface Entry {
  header: SagaHeader;
  events: SagaEvent[];
  status: SagaStatus;
}

/**
 * The log in process memory: for tests and the simulation. Inputs and outputs are
 * copied in, so later mutation by the caller cannot change history.
 */
export class InMemorySagaStore implements SagaStore {
  readonly #sagas = new Map<string, Entry>();
  readonly #byKey = new Map<string, string>();
  #closed = false;

  /** Never rejects except after close. */
  create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    if (this.#closed) return closedError();
    const existingId = this.#byKey.get(header.idempotencyKey);
    if (existingId !== undefined) {
      return Promise.resolve({ created: false, existing: this.#stored(this.#sagas.get(existingId)!) });
    }
    if (this.#sagas.has(header.sagaId)) return Promise.reject(new Error(`saga ${header.sagaId} already exists`));
    this.#byKey.set(header.idempotencyKey, header.sagaId);
    this.#sagas.set(header.sagaId, {
      header: { ...header, input: structuredClone(header.input) },
      events: [first],
      status: first.status,
    });
    return Promise.resolve({ created: true });
  }

  /** Rejects on an unknown saga or an out-of-order sequence. */
  append(event: SagaEvent): Promise<void> {
    if (this.#closed) return closedError();
    const entry = this.#sagas.get(event.sagaId);
    if (!entry) return Promise.reject(new Error(`unknown saga ${event.sagaId}`));
    if (event.sequence !== entry.events.length + 1) {
      return Promise.reject(new Error(`saga ${event.sagaId}: sequence ${event.sequence} is taken or skips ahead`));
    }
    entry.events.push(event.output === undefined ? event : { ...event, output: structuredClone(event.output) });
    entry.status = event.status;
    return Promise.resolve();
  }

  load(sagaId: string): Promise<StoredSaga | undefined> {
    if (this.#closed) return closedError();
    const entry = this.#sagas.get(sagaId);
    return Promise.resolve(entry && this.#stored(entry));
  }

  list(query: SagaListQuery): Promise<StoredSaga[]> {
    if (this.#closed) return closedError();
    const statuses = query.statuses && query.statuses.length > 0 ? new Set(query.statuses) : undefined;
    const matches: Entry[] = [];
    for (const e of this.#sagas.values()) {
      const at = e.header.createdAt;
      if (statuses && !statuses.has(e.status)) continue;
      if (query.createdAfter !== undefined && at < query.createdAfter) continue;
      if (query.createdBefore !== undefined && at >= query.createdBefore) continue;
      const a = query.after;
      if (a && !(at < a.createdAt || (at === a.createdAt && e.header.sagaId < a.sagaId))) continue;
      matches.push(e);
    }
    matches.sort(
      (x, y) => y.header.createdAt - x.header.createdAt || (y.header.sagaId < x.header.sagaId ? -1 : y.header.sagaId > x.header.sagaId ? 1 : 0),
    );
    return Promise.resolve(matches.slice(0, query.limit).map((e) => this.#stored(e)));
  }

  unfinished(): Promise<string[]> {
    if (this.#closed) return closedError();
    const ids: Entry[] = [];
    for (const e of this.#sagas.values()) if (UNFINISHED_STATUSES.includes(e.status)) ids.push(e);
    ids.sort((x, y) => x.header.createdAt - y.header.createdAt || (x.header.sagaId < y.header.sagaId ? -1 : 1));
    return Promise.resolve(ids.map((e) => e.header.sagaId));
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #stored(e: Entry): StoredSaga {
    return { header: e.header, events: e.events.slice() };
  }
}

function closedError(): Promise<never> {
  return Promise.reject(new Error("saga store is closed"));
}
