/**
 * The saga log in SQLite (better-sqlite3, WAL): one `saga` row per saga and one
 * `saga_event` row per transition, as DBOS keeps `workflow_status` + `operation_outputs`.
 *
 * Group commit: writes from all sagas are queued and flushed together in ONE transaction
 * on the next `setImmediate`, and each write's promise resolves only after that
 * transaction commits. One commit (and, with `durability: "power"`, one fsync) serves every
 * saga that wrote in the same event-loop turn.
 */
import Database from "better-sqlite3";
import type { Json } from "./json.js";
import type { ErrorInfo, SagaEvent, SagaEventKind, SagaHeader, SagaStatus } from "./saga-record.js";
import type { CreateResult, SagaListQuery, SagaStore, StoredSaga } from "./saga-store.js";

/**
 * `"process"` (default): synchronous=NORMAL; a committed transition survives the process
 * being killed (-9), not a power loss. `"power"`: synchronous=FULL; a transition counts
 * only after fsync, so it survives power loss too.
 */
export type Durability = "process" | "power";

/** Options of {@link SqliteSagaStore}. */
export interface SqliteSagaStoreOptions {
  durability?: Durability;
  /** Most writes per transaction; a longer queue is flushed in several (default 10,000). */
  maxBatch?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS saga (
  saga_id            TEXT    PRIMARY KEY,
  idempotency_key    TEXT    NOT NULL UNIQUE,
  fingerprint        TEXT    NOT NULL,
  definition_name    TEXT    NOT NULL,
  definition_version INTEGER NOT NULL,
  status             TEXT    NOT NULL,
  input              TEXT    NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL -- when status last changed
);
CREATE INDEX IF NOT EXISTS saga_by_created ON saga (created_at DESC, saga_id DESC);
CREATE INDEX IF NOT EXISTS saga_by_status ON saga (status, created_at DESC, saga_id DESC);
CREATE TABLE IF NOT EXISTS saga_event (
  saga_id       TEXT    NOT NULL,
  sequence      INTEGER NOT NULL,
  kind          TEXT    NOT NULL,
  step          TEXT,
  status        TEXT    NOT NULL,
  at            INTEGER NOT NULL,
  attempt       INTEGER,
  output        TEXT,
  error_code    TEXT,
  error_message TEXT,
  PRIMARY KEY (saga_id, sequence)
) WITHOUT ROWID;
`;

interface SagaRow {
  saga_id: string;
  idempotency_key: string;
  fingerprint: string;
  definition_name: string;
  definition_version: number;
  status: string;
  input: string;
  created_at: number;
  updated_at: number;
}

interface EventRow {
  saga_id: string;
  sequence: number;
  kind: string;
  step: string | null;
  status: string;
  at: number;
  attempt: number | null;
  output: string | null;
  error_code: string | null;
  error_message: string | null;
}

type Write =
  | { op: "create"; header: SagaHeader; event: SagaEvent; resolve(r: CreateResult): void; reject(e: unknown): void }
  | { op: "append"; event: SagaEvent; resolve(r: undefined): void; reject(e: unknown): void };

/**
 * `SagaStore` on a SQLite file (or ":memory:"). Opening creates the tables if needed.
 * @throws whatever better-sqlite3 throws when the file cannot be opened.
 */
export class SqliteSagaStore implements SagaStore {
  readonly #db: Database.Database;
  readonly #maxBatch: number;
  #queue: Write[] = [];
  /** Status last written to the saga row of each saga in flight: the row (and its status index) is rewritten only when it changes. */
  readonly #rowStatus = new Map<string, SagaStatus>();
  #scheduled = false;
  #closed = false;

  readonly #insertSaga: Database.Statement;
  readonly #updateSaga: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #sagaById: Database.Statement<[string], SagaRow>;
  readonly #sagaByKey: Database.Statement<[string], SagaRow>;
  readonly #eventsOf: Database.Statement<[string], EventRow>;
  readonly #unfinished: Database.Statement<[], { saga_id: string }>;
  readonly #list: Database.Statement<[Record<string, unknown>], SagaRow>;
  readonly #flushBatch: (writes: Write[]) => void;

  constructor(path: string, options: SqliteSagaStoreOptions = {}) {
    this.#maxBatch = options.maxBatch ?? 10_000;
    const db = new Database(path);
    this.#db = db;
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.durability === "power" ? "FULL" : "NORMAL"}`);
    db.pragma("busy_timeout = 5000");
    db.pragma("cache_size = -65536"); // 64 MiB of page cache: the hot end of the log stays in memory
    db.exec(SCHEMA);
    this.#insertSaga = db.prepare(
      `INSERT INTO saga (saga_id, idempotency_key, fingerprint, definition_name, definition_version, status, input, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.#updateSaga = db.prepare("UPDATE saga SET status = ?, updated_at = ? WHERE saga_id = ?");
    this.#insertEvent = db.prepare(
      `INSERT INTO saga_event (saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#sagaById = db.prepare("SELECT * FROM saga WHERE saga_id = ?");
    this.#sagaByKey = db.prepare("SELECT * FROM saga WHERE idempotency_key = ?");
    this.#eventsOf = db.prepare("SELECT * FROM saga_event WHERE saga_id = ? ORDER BY sequence");
    this.#unfinished = db.prepare(
      "SELECT saga_id FROM saga WHERE status IN ('RUNNING', 'COMPENSATING') ORDER BY created_at, saga_id",
    );
    this.#list = db.prepare(
      `SELECT * FROM saga
       WHERE (@statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses)))
         AND (@after IS NULL OR created_at >= @after)
         AND (@before IS NULL OR created_at < @before)
         AND (@cursorAt IS NULL OR created_at < @cursorAt OR (created_at = @cursorAt AND saga_id < @cursorId))
       ORDER BY created_at DESC, saga_id DESC
       LIMIT @limit`,
    );
    // Each write runs on its own: one that fails (constraint) rejects alone and the batch commits.
    this.#flushBatch = db.transaction((writes: Write[]) => {
      for (const w of writes) {
        try {
          (w as { result?: unknown }).result = this.#run(w);
        } catch (err) {
          (w as { error?: unknown }).error = err ?? new Error("write failed");
        }
      }
    });
  }

  /** Queued; resolves after the batch holding it commits. */
  create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    return new Promise((resolve, reject) => this.#enqueue({ op: "create", header, event: first, resolve, reject }));
  }

  /** Queued; resolves after the batch holding it commits. */
  append(event: SagaEvent): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ op: "append", event, resolve, reject }));
  }

  load(sagaId: string): Promise<StoredSaga | undefined> {
    try {
      this.#open();
      const row = this.#sagaById.get(sagaId);
      return Promise.resolve(row && this.#stored(row));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  list(query: SagaListQuery): Promise<StoredSaga[]> {
    try {
      this.#open();
      const rows = this.#list.all({
        statuses: query.statuses && query.statuses.length > 0 ? JSON.stringify(query.statuses) : null,
        after: query.createdAfter ?? null,
        before: query.createdBefore ?? null,
        cursorAt: query.after?.createdAt ?? null,
        cursorId: query.after?.sagaId ?? null,
        limit: query.limit,
      });
      return Promise.resolve(rows.map((r) => this.#stored(r)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  unfinished(): Promise<string[]> {
    try {
      this.#open();
      return Promise.resolve(this.#unfinished.all().map((r) => r.saga_id));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Commits every queued write, then closes the file. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#flush();
    this.#closed = true;
    this.#db.close();
    return Promise.resolve();
  }

  #open(): void {
    if (this.#closed) throw new Error("saga store is closed");
  }

  #enqueue(w: Write): void {
    if (this.#closed) {
      w.reject(new Error("saga store is closed"));
      return;
    }
    this.#queue.push(w);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch);
      this.#queue = batch === this.#queue ? [] : this.#queue.slice(this.#maxBatch);
      try {
        this.#flushBatch(batch);
      } catch (err) {
        for (const w of batch) w.reject(err);
        continue;
      }
      for (const w of batch) {
        const done = w as Write & { result?: unknown; error?: unknown };
        if (done.error !== undefined) w.reject(done.error);
        else (w.resolve as (r: unknown) => void)(done.result);
      }
    }
  };

  #run(w: Write): unknown {
    if (w.op === "append") {
      this.#writeEvent(w.event, true);
      return undefined;
    }
    const h = w.header;
    const info = this.#insertSaga.run(
      h.sagaId,
      h.idempotencyKey,
      h.fingerprint,
      h.definitionName,
      h.definitionVersion,
      w.event.status,
      JSON.stringify(h.input),
      h.createdAt,
      w.event.at,
    );
    if (info.changes === 0) {
      const row = this.#sagaByKey.get(h.idempotencyKey);
      if (!row) throw new Error(`saga ${h.sagaId} already exists`);
      return { created: false, existing: this.#stored(row) } satisfies CreateResult;
    }
    this.#writeEvent(w.event, false);
    return { created: true } satisfies CreateResult;
  }

  #writeEvent(e: SagaEvent, updateSaga: boolean): void {
    if (updateSaga && this.#rowStatus.get(e.sagaId) !== e.status) {
      if (this.#updateSaga.run(e.status, e.at, e.sagaId).changes === 0) throw new Error(`unknown saga ${e.sagaId}`);
    }
    if (e.status === "RUNNING" || e.status === "COMPENSATING") this.#rowStatus.set(e.sagaId, e.status);
    else this.#rowStatus.delete(e.sagaId);
    this.#insertEvent.run(
      e.sagaId,
      e.sequence,
      e.kind,
      e.step ?? null,
      e.status,
      e.at,
      e.attempt ?? null,
      e.output === undefined ? null : JSON.stringify(e.output),
      e.error?.code ?? null,
      e.error?.message ?? null,
    );
  }

  #stored(row: SagaRow): StoredSaga {
    const header: SagaHeader = {
      sagaId: row.saga_id,
      idempotencyKey: row.idempotency_key,
      fingerprint: row.fingerprint,
      definitionName: row.definition_name,
      definitionVersion: row.definition_version,
      input: JSON.parse(row.input) as Json,
      createdAt: row.created_at,
    };
    return { header, events: this.#eventsOf.all(row.saga_id).map(toEvent) };
  }
}

function toEvent(r: EventRow): SagaEvent {
  const e: SagaEvent = {
    sagaId: r.saga_id,
    sequence: r.sequence,
    kind: r.kind as SagaEventKind,
    status: r.status as SagaStatus,
    at: r.at,
  };
  if (r.step !== null) e.step = r.step;
  if (r.attempt !== null) e.attempt = r.attempt;
  if (r.output !== null) e.output = JSON.parse(r.output) as Json;
  if (r.error_code !== null) e.error = { code: r.error_code, message: r.error_message ?? "" } satisfies ErrorInfo;
  return e;
}

