/**
 * The saga log on PostgreSQL (node-postgres pool): the same `saga` and `saga_event` tables as
 * the SQLite store, plus the ownership columns replicas will use (`owner`, `lease_until`,
 * `epoch`). For an orchestrator given `DATABASE_URL`, and for replicas sharing one log.
 *
 * Group commit (platform/postgres-write-batcher): the creates of every saga queued meanwhile are
 * ONE prepared statement, so one transaction and one commit, and so are their appends; each
 * write settles only after its commit. The statements take their rows as arrays (`unnest`), so
 * a batch costs one round trip whatever its size, and they refuse bad rows instead of failing:
 * an append to an unknown saga, to a taken sequence, or with a stale epoch is left out, and
 * only its caller is told.
 */
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { migratePostgres, type PostgresMigration } from "../../platform/postgres-migrations.js";
import { isConnectionLost, openPostgresPool, pingPool, postgresTarget, type PostgresPoolOptions } from "../../platform/postgres.js";
import { createPostgresWriteBatcher, type PostgresWriteBatcher, type WriteOutcome } from "../../platform/postgres-write-batcher.js";
import type { Json } from "./json.js";
import { CREATED_EPOCH, FencedError, type SagaClaim, type SagaOwnership } from "./saga-ownership.js";
import { type SagaEvent, type SagaHeader, UNFINISHED_STATUSES } from "./saga-record.js";
import type { CreateResult, SagaListQuery, SagaStore, StoredSaga } from "./saga-store.js";
import { PostgresSagaChangeFeed, SAGA_LOG_CHANNEL } from "./postgres-saga-change-feed.js";

/** The saga log's schema, version by version (see platform/postgres-migrations). Never edit a released one; add the next. */
export const SAGA_LOG_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "saga and saga_event, with ownership (owner, lease_until, epoch)",
    // Text in "C" collation: byte order, as the SQLite and in-memory stores sort ids, and cheaper.
    // json (not jsonb) keeps what was written as it was, including "\u0000" escapes.
    // No foreign key from saga_event to saga: the append statement checks the saga itself,
    // and a foreign key would cost a trigger and a row lock per event.
    sql: `
      CREATE TABLE saga (
        saga_id            text    COLLATE "C" PRIMARY KEY,
        idempotency_key    text    COLLATE "C" NOT NULL UNIQUE,
        fingerprint        text    COLLATE "C" NOT NULL,
        definition_name    text    COLLATE "C" NOT NULL,
        definition_version integer NOT NULL,
        status             text    COLLATE "C" NOT NULL,
        input              json    NOT NULL,
        created_at         bigint  NOT NULL,
        updated_at         bigint  NOT NULL,
        owner              text    COLLATE "C",
        lease_until        timestamptz,
        epoch              bigint  NOT NULL DEFAULT 0
      );
      CREATE INDEX saga_by_created ON saga (created_at DESC, saga_id DESC);
      CREATE INDEX saga_by_status ON saga (status, created_at DESC, saga_id DESC);
      CREATE INDEX saga_by_owner ON saga (owner) WHERE owner IS NOT NULL;
      CREATE TABLE saga_event (
        saga_id       text    COLLATE "C" NOT NULL,
        sequence      integer NOT NULL,
        kind          text    COLLATE "C" NOT NULL,
        step          text    COLLATE "C",
        status        text    COLLATE "C" NOT NULL,
        at            bigint  NOT NULL,
        attempt       integer,
        output        json,
        error_code    text    COLLATE "C",
        error_message text,
        PRIMARY KEY (saga_id, sequence)
      );`,
  },
  {
    version: 2,
    name: "saga_event.actor and saga_event.reason: who took an operator action, and why",
    // Nullable, so adding them rewrites no rows, and events written before (or by a build of
    // version 1 still running while this one migrates) read as carrying no operator note.
    sql: `
      ALTER TABLE saga_event
        ADD COLUMN actor  text COLLATE "C",
        ADD COLUMN reason text;`,
  },
];

/** The table of applied schema versions of the saga log. */
export const SAGA_LOG_VERSIONS_TABLE = "saga_schema_version";

/** Options of {@link PostgresSagaStore.open}: the pool's, the batch size, and how long writes outlast a lost connection. */
export interface PostgresSagaStoreOptions extends PostgresPoolOptions {
  /** Most writes per statement; a longer queue goes out in several (default 5,000). */
  maxBatch?: number;
  /**
   * Times a batch is sent again when the connection fails under it (default 8: 100 ms, doubling
   * up to 2 s, about 9 s in all); then its writes reject.
   */
  writeRetries?: number;
  /** Told of each batch sent again (for logs and tests). */
  onWriteRetry?: (failure: { attempt: number; delayMs: number; error: Error }) => void;
}

type Write =
  | { kind: "create"; header: SagaHeader; first: SagaEvent; owner: { id: string; leaseMs: number } | undefined }
  | { kind: "append"; event: SagaEvent; epoch: number | undefined };

type Written = CreateResult | undefined;

const HEADER_COLUMNS = "saga_id, idempotency_key, fingerprint, definition_name, definition_version, input, created_at";
/** A saga row with its events as one JSON array, so a saga (or a page of them) is one query. */
const WITH_EVENTS = `${HEADER_COLUMNS},
  COALESCE((SELECT json_agg(json_build_object(
      'sagaId', e.saga_id, 'sequence', e.sequence, 'kind', e.kind, 'step', e.step, 'status', e.status, 'at', e.at,
      'attempt', e.attempt, 'hasOutput', e.output IS NOT NULL, 'output', e.output, 'errorCode', e.error_code, 'errorMessage', e.error_message,
      'actor', e.actor, 'reason', e.reason)
      ORDER BY e.sequence)
    FROM saga_event e WHERE e.saga_id = saga.saga_id), '[]'::json) AS events`;

/**
 * A CTE `notified` that announces, on commit, the events `rows` (saga_id, sequence) inserted:
 * `{"w": writer, "c": [[sagaId, from, to], …]}`, in notifications of at most about 7,000 bytes
 * (PostgreSQL's limit is 8,000), so a batch of any size is announced, in as few as fit. The
 * writer tag lets a replica skip its own news. An id longer than 1,000 bytes is not announced.
 */
function notifyOf(rows: string, writerParameter: string): string {
  return `notified AS (
  SELECT pg_notify('${SAGA_LOG_CHANNEL}', json_build_object('w', ${writerParameter}::text, 'c', json_agg(json_build_array(saga_id, lo, hi)))::text)
  FROM (
    SELECT saga_id, lo, hi, sum(octet_length(saga_id) + 30) OVER (ORDER BY saga_id) / 7000 AS chunk
    FROM (SELECT saga_id, min(sequence) AS lo, max(sequence) AS hi FROM ${rows} WHERE octet_length(saga_id) <= 1000 GROUP BY saga_id) g
  ) c
  GROUP BY chunk
)`;
}

const CREATE_SAGAS = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::json[], $7::bigint[],
                       $8::integer[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::integer[], $14::json[], $15::text[], $16::text[],
                       $17::text[], $18::text[], $19::text[], $20::bigint[])
    AS i(saga_id, idempotency_key, fingerprint, definition_name, definition_version, input, created_at,
         sequence, kind, step, status, at, attempt, output, error_code, error_message, actor, reason, owner, lease_ms)
), inserted AS (
  INSERT INTO saga (saga_id, idempotency_key, fingerprint, definition_name, definition_version, status, input, created_at, updated_at,
                    owner, lease_until, epoch)
  SELECT saga_id, idempotency_key, fingerprint, definition_name, definition_version, status, input, created_at, at,
         owner, CASE WHEN owner IS NULL THEN NULL ELSE now() + lease_ms * interval '1 millisecond' END,
         CASE WHEN owner IS NULL THEN 0 ELSE ${CREATED_EPOCH} END
  FROM input
  ORDER BY idempotency_key -- two batches taking the same keys take them in one order, so never wait on each other in a circle
  ON CONFLICT DO NOTHING
  RETURNING saga_id
), events AS (
  INSERT INTO saga_event (saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message, actor, reason)
  SELECT i.saga_id, i.sequence, i.kind, i.step, i.status, i.at, i.attempt, i.output, i.error_code, i.error_message, i.actor, i.reason
  FROM input i JOIN inserted USING (saga_id)
  RETURNING saga_id, sequence
), ${notifyOf("events", "$21")}
SELECT saga_id FROM events WHERE (SELECT count(*) FROM notified) >= 0`;

// Fenced rows lock their saga row first (in id order, so two writers never wait on each other
// in a circle), so a claim that moves the epoch either commits before (and this sees the new
// epoch) or waits until this commits. Unfenced rows only need the saga to exist.
const APPEND_EVENTS = `
WITH input AS (
  SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::integer[],
                       $8::json[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[])
    AS i(saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message, actor, reason, epoch)
), fenced AS MATERIALIZED (
  SELECT s.saga_id, s.epoch FROM saga s
  WHERE s.saga_id IN (SELECT saga_id FROM input WHERE epoch IS NOT NULL)
  ORDER BY s.saga_id
  FOR NO KEY UPDATE
), accepted AS (
  SELECT i.* FROM input i
  WHERE CASE WHEN i.epoch IS NULL THEN EXISTS (SELECT 1 FROM saga s WHERE s.saga_id = i.saga_id)
             ELSE EXISTS (SELECT 1 FROM fenced f WHERE f.saga_id = i.saga_id AND f.epoch = i.epoch) END
), inserted AS (
  INSERT INTO saga_event (saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message, actor, reason)
  SELECT saga_id, sequence, kind, step, status, at, attempt, output, error_code, error_message, actor, reason FROM accepted
  ON CONFLICT DO NOTHING
  RETURNING saga_id, sequence, status, at
), latest AS (
  SELECT DISTINCT ON (saga_id) saga_id, status, at FROM inserted ORDER BY saga_id, sequence DESC
), changed AS (
  UPDATE saga s SET status = l.status, updated_at = l.at
  FROM latest l WHERE s.saga_id = l.saga_id AND s.status <> l.status
  RETURNING s.saga_id
), ${notifyOf("inserted", "$14")}
SELECT saga_id, sequence FROM inserted WHERE (SELECT count(*) FROM notified) >= 0`;

const EPOCHS_OF = "SELECT saga_id, epoch FROM saga WHERE saga_id = ANY($1::text[])";
/** Events as written, for telling a batch sent again from a conflicting write. */
const EVENTS_AT = `
SELECT e.saga_id, e.sequence, e.kind, e.step, e.status, e.at, e.attempt, e.output::text AS output, e.error_code, e.error_message,
       e.actor, e.reason
FROM saga_event e JOIN unnest($1::text[], $2::integer[]) AS k(saga_id, sequence) USING (saga_id, sequence)`;
const SAGA_BY_ID = `SELECT ${WITH_EVENTS} FROM saga WHERE saga_id = $1`;
const SAGAS_BY_KEY = `SELECT ${WITH_EVENTS} FROM saga WHERE idempotency_key = ANY($1::text[])`;
const LIST = `
SELECT ${WITH_EVENTS} FROM saga
WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
  AND ($2::bigint IS NULL OR created_at >= $2::bigint)
  AND ($3::bigint IS NULL OR created_at < $3::bigint)
  AND ($4::bigint IS NULL OR (created_at, saga_id) < ($4::bigint, $5::text))
ORDER BY created_at DESC, saga_id DESC
LIMIT $6`;
const UNFINISHED = "SELECT saga_id FROM saga WHERE status = ANY($1::text[]) ORDER BY created_at, saga_id";
const CLAIM = `
WITH claimed AS (
  UPDATE saga s SET owner = $1, lease_until = now() + $2 * interval '1 millisecond', epoch = s.epoch + 1
  FROM (
    SELECT saga_id FROM saga
    WHERE status = ANY($3::text[]) AND (owner IS NULL OR lease_until IS NULL OR lease_until <= now())
    ORDER BY created_at, saga_id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
  ) c
  WHERE s.saga_id = c.saga_id
  RETURNING s.saga_id, s.epoch, s.created_at
)
SELECT saga_id, epoch FROM claimed ORDER BY created_at, saga_id`;
const RENEW = `
WITH mine AS MATERIALIZED (
  SELECT saga_id FROM saga WHERE owner = $1 AND status = ANY($3::text[]) ORDER BY saga_id FOR NO KEY UPDATE
), renewed AS (
  UPDATE saga s SET lease_until = now() + $2 * interval '1 millisecond'
  FROM mine WHERE s.saga_id = mine.saga_id AND s.owner = $1
  RETURNING s.saga_id, s.epoch, s.created_at
)
SELECT saga_id, epoch FROM renewed ORDER BY created_at, saga_id`;
const TAKE = `
UPDATE saga SET owner = $2, lease_until = now() + $3 * interval '1 millisecond', epoch = epoch + 1
WHERE saga_id = $1
RETURNING saga_id, epoch`;
const RELEASE = "UPDATE saga SET lease_until = now() WHERE owner = $1 AND lease_until > now()";

interface StoredEventRow {
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

interface HeaderRow {
  saga_id: string;
  idempotency_key: string;
  fingerprint: string;
  definition_name: string;
  definition_version: number;
  input: Json;
  created_at: number;
  events: EventJson[];
}

interface EventJson {
  sagaId: string;
  sequence: number;
  kind: SagaEvent["kind"];
  step: string | null;
  status: SagaEvent["status"];
  at: number;
  attempt: number | null;
  /** Whether the step logged an output: a JSON null output is an output, and reads as null in `output` too. */
  hasOutput: boolean;
  output: Json;
  errorCode: string | null;
  errorMessage: string | null;
  /** The operator note's fields; null on events that record no operator action. */
  actor: string | null;
  reason: string | null;
}

/**
 * `SagaStore` (and `SagaOwnership`) on PostgreSQL. Open with {@link PostgresSagaStore.open},
 * which connects (with retries) and migrates the schema.
 */
export class PostgresSagaStore implements SagaStore, SagaOwnership {
  readonly #pool: pg.Pool;
  readonly #batcher: PostgresWriteBatcher<Write, Written>;
  readonly #writeRetries: number;
  readonly #onWriteRetry: PostgresSagaStoreOptions["onWriteRetry"];
  readonly #options: PostgresSagaStoreOptions;
  readonly #feeds = new Set<PostgresSagaChangeFeed>();
  #closed = false;
  /** Tags the announcements of this store's commits, so its own change feed skips them. */
  readonly writerTag = randomBytes(8).toString("hex");

  private constructor(pool: pg.Pool, options: PostgresSagaStoreOptions) {
    this.#pool = pool;
    this.#options = options;
    this.#writeRetries = options.writeRetries ?? 8;
    this.#onWriteRetry = options.onWriteRetry;
    const database = postgresTarget(options.connectionString).database; // names the store in its commit metrics
    this.#batcher = createPostgresWriteBatcher<Write, Written>((writes) => this.#commit(writes), options.maxBatch ?? 5_000, database);
  }

  /**
   * Connects to `options.connectionString` and brings the saga log's schema up to date.
   * @throws PostgresConnectError naming host and database (never the password) when the server
   * cannot be reached within the retries, or refuses us.
   * @throws SchemaTooNewError when the database's schema is newer than this build.
   */
  static async open(options: PostgresSagaStoreOptions): Promise<PostgresSagaStore> {
    const pool = await openPostgresPool({ applicationName: "tp-saga-orchestrator", ...options });
    try {
      await migratePostgres(pool, "saga log", SAGA_LOG_VERSIONS_TABLE, SAGA_LOG_MIGRATIONS);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresSagaStore(pool, options);
  }

  /** Queued; resolves after the statement holding it commits. */
  async create(header: SagaHeader, first: SagaEvent): Promise<CreateResult> {
    this.#open();
    checkHeader(header);
    checkEvent(first);
    if (first.sagaId !== header.sagaId) throw new Error(`saga ${header.sagaId}: its first event belongs to saga ${first.sagaId}`);
    return (await this.#batcher.run({ kind: "create", header, first, owner: undefined })) as CreateResult;
  }

  /** Queued with the other creates; the saga is owned by `ownerId` at epoch 1 from its creation. */
  async createOwned(header: SagaHeader, first: SagaEvent, ownerId: string, leaseMs: number): Promise<CreateResult> {
    this.#open();
    checkHeader(header);
    checkEvent(first);
    checkOwnership(ownerId, leaseMs);
    if (first.sagaId !== header.sagaId) throw new Error(`saga ${header.sagaId}: its first event belongs to saga ${first.sagaId}`);
    return (await this.#batcher.run({ kind: "create", header, first, owner: { id: ownerId, leaseMs } })) as CreateResult;
  }

  /** Queued; resolves after the statement holding it commits. */
  async append(event: SagaEvent): Promise<void> {
    this.#open();
    checkEvent(event);
    await this.#batcher.run({ kind: "append", event, epoch: undefined });
  }

  /** Queued with the unfenced appends; refused with FencedError once the saga's epoch moved. */
  async appendFenced(event: SagaEvent, epoch: number): Promise<void> {
    this.#open();
    checkEvent(event);
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`saga ${event.sagaId}: epoch ${epoch} is not a whole number ≥ 0`);
    await this.#batcher.run({ kind: "append", event, epoch });
  }

  async load(sagaId: string): Promise<StoredSaga | undefined> {
    this.#open();
    const { rows } = await this.#pool.query<HeaderRow>({ name: "saga_by_id", text: SAGA_BY_ID, values: [sagaId] });
    return rows[0] && toStored(rows[0]);
  }

  async list(query: SagaListQuery): Promise<StoredSaga[]> {
    this.#open();
    // Not prepared: which index serves a page depends on its filters (a rare status, a time
    // range), so the server plans each page for its own values rather than once for all.
    const { rows } = await this.#pool.query<HeaderRow>({
      text: LIST,
      values: [
        query.statuses && query.statuses.length > 0 ? query.statuses : null,
        query.createdAfter ?? null,
        query.createdBefore ?? null,
        query.after?.createdAt ?? null,
        query.after?.sagaId ?? null,
        query.limit,
      ],
    });
    return rows.map(toStored);
  }

  async unfinished(): Promise<string[]> {
    this.#open();
    const { rows } = await this.#pool.query<{ saga_id: string }>({ name: "saga_unfinished", text: UNFINISHED, values: [UNFINISHED_STATUSES] });
    return rows.map((r) => r.saga_id);
  }

  async claim(ownerId: string, leaseMs: number, limit: number): Promise<SagaClaim[]> {
    this.#open();
    checkOwnership(ownerId, leaseMs);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`claim limit ${limit} is not a whole number ≥ 1`);
    const { rows } = await this.#pool.query<{ saga_id: string; epoch: number }>({
      name: "saga_claim",
      text: CLAIM,
      values: [ownerId, leaseMs, UNFINISHED_STATUSES, limit],
    });
    return rows.map((r) => ({ sagaId: r.saga_id, epoch: r.epoch }));
  }

  async renew(ownerId: string, leaseMs: number): Promise<SagaClaim[]> {
    this.#open();
    checkOwnership(ownerId, leaseMs);
    const { rows } = await this.#pool.query<{ saga_id: string; epoch: number }>({
      name: "saga_renew",
      text: RENEW,
      values: [ownerId, leaseMs, UNFINISHED_STATUSES],
    });
    return rows.map((r) => ({ sagaId: r.saga_id, epoch: r.epoch }));
  }

  async take(sagaId: string, ownerId: string, leaseMs: number): Promise<SagaClaim | undefined> {
    this.#open();
    checkOwnership(ownerId, leaseMs);
    const { rows } = await this.#pool.query<{ saga_id: string; epoch: number }>({
      name: "saga_take",
      text: TAKE,
      values: [sagaId, ownerId, leaseMs],
    });
    return rows[0] && { sagaId: rows[0].saga_id, epoch: rows[0].epoch };
  }

  async release(ownerId: string): Promise<void> {
    this.#open();
    checkOwnership(ownerId, 1);
    await this.#pool.query({ name: "saga_release", text: RELEASE, values: [ownerId] });
  }

  /** Whether the server answers now: one `SELECT 1` on the pool, failing after `timeoutMs`. */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    if (this.#closed) return false;
    return pingPool(this.#pool, timeoutMs);
  }

  /**
   * Listens for the batches other stores (replicas) commit to this log, on a connection of its
   * own that comes back after a loss (news sent meanwhile is missed). Closed with the store.
   */
  async openChangeFeed(onLost?: (error: Error) => void): Promise<PostgresSagaChangeFeed> {
    this.#open();
    const feed = await PostgresSagaChangeFeed.open(this.#options, this.writerTag, onLost);
    this.#feeds.add(feed);
    return feed;
  }

  /** Commits every queued write, then closes the pool. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#feeds].map((f) => f.close()));
    await this.#batcher.close();
    await this.#pool.end();
  }

  #open(): void {
    if (this.#closed) throw new Error("saga store is closed");
  }

  /**
   * Commits a batch. When the connection fails under it, the outcome is unknown (the server may
   * have committed before the answer was lost), so the whole batch is sent again on a new
   * connection, and a write found already there, exactly as sent, counts as done: a saga with
   * this id and key, an event with these fields at this sequence.
   */
  async #commit(writes: readonly Write[]): Promise<WriteOutcome<Written>[]> {
    let delayMs = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#commitOnce(writes, attempt > 1);
      } catch (err) {
        if (!isConnectionLost(err) || attempt > this.#writeRetries || this.#closed) throw err;
        this.#onWriteRetry?.({ attempt, delayMs, error: err as Error });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
  }

  async #commitOnce(writes: readonly Write[], again: boolean): Promise<WriteOutcome<Written>[]> {
    const outcomes: WriteOutcome<Written>[] = new Array(writes.length);
    const creates: number[] = [];
    const appends: number[] = [];
    writes.forEach((w, i) => (w.kind === "create" ? creates : appends).push(i));
    const createAll = () => this.#isolating(creates, outcomes, (group) => this.#createAll(writes, group, outcomes, again));
    const appendAll = () => this.#isolating(appends, outcomes, (group) => this.#appendAll(writes, group, outcomes, again));
    if (creates.length === 0) await appendAll();
    else if (appends.length === 0) await createAll();
    else {
      const created = new Set(creates.map((i) => (writes[i] as Extract<Write, { kind: "create" }>).header.sagaId));
      if (appends.some((i) => created.has((writes[i] as Extract<Write, { kind: "append" }>).event.sagaId))) {
        // An append queued with its saga's create (not something the runner does): creates first.
        await createAll();
        await appendAll();
      } else {
        // Independent: both statements at once, on two connections, so their commits (and with
        // `power` their WAL flushes) overlap instead of queueing one behind the other.
        const [c, a] = await Promise.allSettled([createAll(), appendAll()]);
        if (c.status === "rejected") throw c.reason;
        if (a.status === "rejected") throw a.reason;
      }
    }
    return outcomes;
  }

  /**
   * Runs `group` as one statement; if the server refuses the statement itself (a value it cannot
   * store, say), runs each write alone, so the failure reaches only the write that caused it. A
   * lost connection is not the statement's fault: it goes up, and the batch is sent again.
   */
  async #isolating(group: number[], outcomes: WriteOutcome<Written>[], run: (group: number[]) => Promise<void>): Promise<void> {
    try {
      await run(group);
    } catch (err) {
      if (isConnectionLost(err)) throw err;
      if (group.length === 1) {
        outcomes[group[0]!] = { ok: false, error: err };
        return;
      }
      for (const i of group) await this.#isolating([i], outcomes, run);
    }
  }

  async #createAll(writes: readonly Write[], group: number[], outcomes: WriteOutcome<Written>[], again: boolean): Promise<void> {
    const sent: number[] = [];
    const ids = new Set<string>();
    for (const i of group) {
      const id = (writes[i] as Extract<Write, { kind: "create" }>).header.sagaId;
      if (!ids.has(id)) {
        ids.add(id);
        sent.push(i);
      }
    }
    const first = new Set(sent);
    const columns: unknown[][] = Array.from({ length: 20 }, () => []);
    for (const i of sent) {
      const { header: h, first: e, owner } = writes[i] as Extract<Write, { kind: "create" }>;
      const row = [
        h.sagaId,
        h.idempotencyKey,
        h.fingerprint,
        h.definitionName,
        h.definitionVersion,
        JSON.stringify(h.input),
        h.createdAt,
        ...eventColumns(e).slice(1),
        owner?.id ?? null,
        owner?.leaseMs ?? null,
      ];
      row.forEach((v, c) => columns[c]!.push(v));
    }
    const { rows } = await this.#pool.query<{ saga_id: string }>({ name: "saga_create", text: CREATE_SAGAS, values: [...columns, this.writerTag] });
    const created = new Set(rows.map((r) => r.saga_id));
    const refused: number[] = [];
    for (const i of group) {
      const w = writes[i] as Extract<Write, { kind: "create" }>;
      if (first.has(i) && created.has(w.header.sagaId)) outcomes[i] = { ok: true, value: { created: true } };
      else refused.push(i);
    }
    if (refused.length === 0) return;
    // Not inserted: the key (or the id) is taken. The saga holding the key is the answer.
    const keys = refused.map((i) => (writes[i] as Extract<Write, { kind: "create" }>).header.idempotencyKey);
    const holders = await this.#pool.query<HeaderRow>({ name: "saga_by_keys", text: SAGAS_BY_KEY, values: [keys] });
    const byKey = new Map(holders.rows.map((r) => [r.idempotency_key, r]));
    for (const i of refused) {
      const h = (writes[i] as Extract<Write, { kind: "create" }>).header;
      const holder = byKey.get(h.idempotencyKey);
      // Sent again after a lost answer: the saga holding the key is this very one.
      const ours = again && first.has(i) && holder?.saga_id === h.sagaId && holder.fingerprint === h.fingerprint;
      outcomes[i] = ours
        ? { ok: true, value: { created: true } }
        : holder
          ? { ok: true, value: { created: false, existing: toStored(holder) } }
          : { ok: false, error: new Error(`saga ${h.sagaId} already exists`) };
    }
  }

  async #appendAll(writes: readonly Write[], group: number[], outcomes: WriteOutcome<Written>[], again: boolean): Promise<void> {
    const sent: number[] = [];
    const slots = new Set<string>();
    for (const i of group) {
      const { event } = writes[i] as Extract<Write, { kind: "append" }>;
      const slot = `${event.sagaId}\u0000${event.sequence}`;
      if (slots.has(slot)) outcomes[i] = { ok: false, error: new Error(`saga ${event.sagaId}: sequence ${event.sequence} is taken`) };
      else {
        slots.add(slot);
        sent.push(i);
      }
    }
    const columns: unknown[][] = Array.from({ length: 13 }, () => []);
    for (const i of sent) {
      const { event, epoch } = writes[i] as Extract<Write, { kind: "append" }>;
      [...eventColumns(event), epoch ?? null].forEach((v, c) => columns[c]!.push(v));
    }
    const { rows } = await this.#pool.query<{ saga_id: string; sequence: number }>({
      name: "saga_append",
      text: APPEND_EVENTS,
      values: [...columns, this.writerTag],
    });
    const inserted = new Set(rows.map((r) => `${r.saga_id}\u0000${r.sequence}`));
    const refused: number[] = [];
    for (const i of sent) {
      const { event } = writes[i] as Extract<Write, { kind: "append" }>;
      if (inserted.has(`${event.sagaId}\u0000${event.sequence}`)) outcomes[i] = { ok: true, value: undefined };
      else refused.push(i);
    }
    if (refused.length === 0) return;
    if (again) {
      // Sent again after a lost answer: an event already there exactly as sent is ours.
      const asSent = (i: number) => (writes[i] as Extract<Write, { kind: "append" }>).event;
      const stored = await this.#pool.query<StoredEventRow>({
        name: "saga_events_at",
        text: EVENTS_AT,
        values: [refused.map((i) => asSent(i).sagaId), refused.map((i) => asSent(i).sequence)],
      });
      const bySlot = new Map(stored.rows.map((r) => [`${r.saga_id}\u0000${r.sequence}`, r]));
      for (let k = refused.length - 1; k >= 0; k--) {
        const i = refused[k]!;
        const row = bySlot.get(`${asSent(i).sagaId}\u0000${asSent(i).sequence}`);
        if (row && sameEvent(row, eventColumns(asSent(i)))) {
          outcomes[i] = { ok: true, value: undefined };
          refused.splice(k, 1);
        }
      }
      if (refused.length === 0) return;
    }
    // Left out by the statement: say why, from the sagas' rows as they are now.
    const ids = [...new Set(refused.map((i) => (writes[i] as Extract<Write, { kind: "append" }>).event.sagaId))];
    const epochs = await this.#pool.query<{ saga_id: string; epoch: number }>({ name: "saga_epochs", text: EPOCHS_OF, values: [ids] });
    const epochOf = new Map(epochs.rows.map((r) => [r.saga_id, r.epoch]));
    for (const i of refused) {
      const { event, epoch } = writes[i] as Extract<Write, { kind: "append" }>;
      const current = epochOf.get(event.sagaId);
      outcomes[i] = {
        ok: false,
        error:
          current === undefined
            ? new Error(`unknown saga ${event.sagaId}`)
            : epoch !== undefined && epoch !== current
              ? new FencedError(event.sagaId, epoch, current)
              : new Error(`saga ${event.sagaId}: sequence ${event.sequence} is taken`),
      };
    }
  }
}

/**
 * An event as the statements' arrays take it: saga_id, sequence, kind, step, status, at, attempt,
 * output, error_code, error_message, actor, reason.
 */
function eventColumns(e: SagaEvent): unknown[] {
  return [
    e.sagaId,
    e.sequence,
    e.kind,
    e.step ?? null,
    e.status,
    e.at,
    e.attempt ?? null,
    e.output === undefined ? null : JSON.stringify(e.output),
    e.error?.code ?? null,
    // PostgreSQL text cannot hold U+0000; an error message is prose from elsewhere, so it is replaced rather than refused.
    e.error ? e.error.message.replaceAll("\u0000", "\uFFFD") : null,
    // The operator note is replaced too, not refused: by the time it is logged the operator's
    // action was accepted, and a refused append would stop the saga from writing at all.
    e.operator ? e.operator.actor.replaceAll("\u0000", "\uFFFD") : null,
    e.operator ? e.operator.reason.replaceAll("\u0000", "\uFFFD") : null,
  ];
}

/** Whether a stored event is the one `columns` (from {@link eventColumns}) describes. */
function sameEvent(row: StoredEventRow, columns: unknown[]): boolean {
  const stored = [
    row.saga_id,
    row.sequence,
    row.kind,
    row.step,
    row.status,
    row.at,
    row.attempt,
    row.output,
    row.error_code,
    row.error_message,
    row.actor,
    row.reason,
  ];
  if (stored.length !== columns.length) throw new Error(`comparing an event of ${stored.length} columns with one of ${columns.length}`);
  return stored.every((v, c) => v === columns[c]);
}

function toStored(row: HeaderRow): StoredSaga {
  const header: SagaHeader = {
    sagaId: row.saga_id,
    idempotencyKey: row.idempotency_key,
    fingerprint: row.fingerprint,
    definitionName: row.definition_name,
    definitionVersion: row.definition_version,
    input: row.input,
    createdAt: Number(row.created_at),
  };
  return { header, events: row.events.map(toEvent) };
}

function toEvent(r: EventJson): SagaEvent {
  const e: SagaEvent = { sagaId: r.sagaId, sequence: r.sequence, kind: r.kind, status: r.status, at: r.at };
  if (r.step !== null) e.step = r.step;
  if (r.attempt !== null) e.attempt = r.attempt;
  if (r.hasOutput) e.output = r.output;
  if (r.errorCode !== null) e.error = { code: r.errorCode, message: r.errorMessage ?? "" };
  if (r.actor !== null) e.operator = { actor: r.actor, reason: r.reason ?? "" };
  return e;
}

/** PostgreSQL text cannot hold U+0000: refuse such a name before it can fail a whole batch. */
function checkText(what: string, value: string | undefined): void {
  if (value !== undefined && value.includes("\u0000")) throw new Error(`${what} contains U+0000, which PostgreSQL text cannot store`);
}

function checkHeader(h: SagaHeader): void {
  checkText(`saga id ${JSON.stringify(h.sagaId)}`, h.sagaId);
  checkText(`saga ${h.sagaId}: idempotency key`, h.idempotencyKey);
  checkText(`saga ${h.sagaId}: fingerprint`, h.fingerprint);
  checkText(`saga ${h.sagaId}: definition name`, h.definitionName);
}

function checkEvent(e: SagaEvent): void {
  checkText(`saga id ${JSON.stringify(e.sagaId)}`, e.sagaId);
  checkText(`saga ${e.sagaId}: step name`, e.step);
  checkText(`saga ${e.sagaId}: error code`, e.error?.code);
}

function checkOwnership(ownerId: string, leaseMs: number): void {
  if (ownerId === "" || ownerId.includes("\u0000")) throw new Error(`owner id ${JSON.stringify(ownerId)} is empty or contains U+0000`);
  if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) throw new Error(`lease ${leaseMs} ms is not a whole number ≥ 1`);
}
