/**
 * The saga log in SQLite (better-sqlite3, WAL): one `saga` row per saga and one
 * `saga_event` row per transition, as DBOS keeps `workflow_status` + `operation_outputs`.
 *
 * Group commit (platform/write-batcher): writes from all sagas in the same event-loop turn
 * commit in ONE transaction, and each write's promise resolves only after that commit. One
 * commit (and, with `durability: "power"`, one fsync) serves every saga that wrote.
 */
import type Database from "better-sqlite3";
import { openDatabase, type Durability } from "../../platform/sqlite.js";
import { createWriteBatcher, type WriteBatcher } from "../../platform/write-batcher.js";
import type { Json } from "./json.js";
import { type ErrorInfo, type SagaEvent, type SagaEventKind, type SagaHeader, type SagaStatus, UNFINISHED_STATUSES } from "./saga-record.js";
import type { CreateResult, SagaListQuery, SagaStore, StoredSaga } from "./saga-store.js";

export type { Durability };

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
  actor         TEXT, -- operator actions: who
  reason        TEXT, -- and why
  PRIMARY KEY (saga_id, sequence)
) WITHOUT ROWID;
`;

/** Columns added to `saga_event` after its first release, added in place to an older file when it is opened. */
const ADDED_EVENT_COLUMNS = ["actor", "reason"] as const;

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
  actor: string | null;
  reason: string | null;
}

/**
 * `SagaStore` on a SQLite file (or ":memory:"). Opening creates the tables if needed.
 * @throws whatever better-sqlite3 throws when the file cannot be opened.
 */
export class SqliteSagaStore implements SagaStore {
  readonly #db: Database.Database;
  readonly #batcher: WriteBatcher;
  /**
   * Committed status of the saga row of each saga in flight: the row (and its status index
   * entry) is rewritten only when the status changes. Noted after the commit, so a batch that
   * is rolled back and run again never leaves it ahead of the row.
   */
  readonly #rowStatus = new Map<string, SagaStatus>();
  #closed = false;

  readonly #insertSaga: Database.Statement;
  readonly #updateSaga: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #sagaById: Database.Statement<[string], SagaRow>;
  readonly #sagaByKey: Database.Statement<[string], SagaRow>;
  readonly #eventsOf: Database.Statement<[string], EventRow>;
  readonly #unfinished: Database.Statement<[], { saga_id: string }>;
  readonly #list: Database.Statement<[Record<string, unknown>], SagaRow>;

  constructor(path: string, options: SqliteSagaStoreOptions = {}) {
    const db = openDatabase(path, options.durability ?? "process");
    this.#db = db;
    this.#batcher = createWriteBatcher(db, options.maxBatch ?? 10_000);
    db.exec(SCHEMA);
    const eventColumns = new Set(
      db
        .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('saga_event')")
        .all()
        .map((c) => c.name),
    );
    for (const column of ADDED_EVENT_COLUMNS) {
      if (!eventColumns.has(column)) db.exec(`ALTER TABLE saga_event ADD COLUMN ${column} TEXT`);
    }
    this.#insertSaga = db.prepare(
      `INSERT INTO saga (saga_id, idempotency_key, fingerprint, definition_name, definition_version, status, input, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING`,
    );
    this.#updateSaga = db.prepare("UPDATE saga SET status = ?, updated_at = ? WHERE saga_id = ?");
    this.#insertEvent = db.prepare(
      `INSERT INTO saga_event (saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message, actor, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#sagaById = db.prepare("SELECT * FROM saga WHERE saga_id = ?");
    this.#sagaByKey = db.prepare("SELECT * FROM saga WHERE idempotency_key = ?");
    this.#eventsOf = db.prepare("SELECT * FROM saga_event WHERE saga_id = ? ORDER BY sequence");
    this.#unfinished = db.prepare(
      `SELECT saga_id FROM saga WHERE status IN (${UNFINISHED_STATUSES.map((status) => `'${status}'`).join(", ")}) ORDER BY created_at, saga_id`,
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
  }

  /** Queued; resolves after the batch holding it commits. */
  async create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    this.#open();
    const result = await this.#batcher.run(() => this.#create(header, first));
    if (result.created) this.#noteStatus(first);
    return result;
  }

  /** Queued; resolves after the batch holding it commits. */
  async append(event: SagaEvent): Promise<void> {
    this.#open();
    const known = this.#rowStatus.get(event.sagaId);
    await this.#batcher.run(() => this.#writeEvent(event, known !== event.status));
    this.#noteStatus(event);
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
    this.#batcher.close();
    this.#closed = true;
    this.#db.close();
    return Promise.resolve();
  }

  #open(): void {
    if (this.#closed) throw new Error("saga store is closed");
  }

  #noteStatus(e: SagaEvent): void {
    if (UNFINISHED_STATUSES.includes(e.status)) this.#rowStatus.set(e.sagaId, e.status);
    else this.#rowStatus.delete(e.sagaId);
  }

  #create(h: SagaHeader, first: SagaEvent): CreateResult {
    const info = this.#insertSaga.run(
      h.sagaId,
      h.idempotencyKey,
      h.fingerprint,
      h.definitionName,
      h.definitionVersion,
      first.status,
      JSON.stringify(h.input),
      h.createdAt,
      first.at,
    );
    if (info.changes === 0) {
      const row = this.#sagaByKey.get(h.idempotencyKey);
      if (!row) throw new Error(`saga ${h.sagaId} already exists`);
      return { created: false, existing: this.#stored(row) };
    }
    this.#writeEvent(first, false);
    return { created: true };
  }

  #writeEvent(e: SagaEvent, updateSaga: boolean): void {
    if (updateSaga && this.#updateSaga.run(e.status, e.at, e.sagaId).changes === 0) throw new Error(`unknown saga ${e.sagaId}`);
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
      e.operator?.actor ?? null,
      e.operator?.reason ?? null,
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
  if (r.actor !== null) e.operator = { actor: r.actor, reason: r.reason ?? "" };
  return e;
}
