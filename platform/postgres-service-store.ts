/**
 * A service's store on PostgreSQL, with the same contract as its SQLite store: the domain's
 * writes are synchronous functions over keyed rows (find a record, change an account), run
 * atomically and group-committed. PostgreSQL is asynchronous, so a write cannot read a row when
 * it asks for it; instead every write of a batch runs against a working set of rows the batch
 * has locked and read, and a read of a row not there yet stops the run, fetches what was missing
 * and runs the batch's writes again (they are pure database work, so that is safe, as on SQLite).
 *
 * Concurrency (several replicas on one database), READ COMMITTED:
 * - every row a write reads is first locked with a transaction-scoped advisory lock on
 *   (table, key), held to the commit; the row is read after the lock is granted, so it is the
 *   committed truth and nobody else changes it before we commit. A key with no row yet is locked
 *   too (an idempotency key not seen yet), which makes two replicas' "first" writes under one key
 *   run one after the other: the second sees the first's record and repeats it.
 * - locks follow one global order (table rank, table, key); a row met out of order is only
 *   tried, and when another batch holds it the attempt starts again with every row it learnt of
 *   locked in order. So batches wait for one another but never in a cycle.
 * - primary keys and the same CHECKs as on SQLite (held ≤ balance, reserved ≤ on hand, ≥ 0) stay
 *   the last guard: a write that would break one is refused alone.
 * - a deadlock all the same (a hash collision of two lock keys) or a lost connection sends the
 *   whole batch again: every write is idempotent by its key, so a write whose commit did land
 *   finds its own record and answers as the first time.
 */
import type pg from "pg";
import { UnavailableError } from "./domain-errors.js";
import { isConnectionLost, pingPool } from "./postgres.js";
import { createPostgresWriteBatcher, type PostgresWriteBatcher, type WriteOutcome } from "./postgres-write-batcher.js";

/** The PostgreSQL type of a column, as the working set writes it back. */
export type ColumnType = "text" | "bigint";

/** A table whose rows a write reads and changes by key. `Row` is the row as node-postgres returns it. */
export interface KeyedTable<Row extends object> {
  readonly name: string;
  /** Its primary key, a text column. */
  readonly key: keyof Row & string;
  /**
   * Place in the lock order: a batch locks the rows of lower ranks first. Give the records
   * kept under an idempotency key 0 and the rows they change (accounts, stock) 1, the order in
   * which the domain reads them, so a batch seldom has to lock a row before one it holds.
   */
  readonly lockRank: number;
  /** Every column, key included, with its type. */
  readonly columns: { readonly [K in keyof Row & string]: ColumnType };
}

/** Options of a {@link PostgresServiceStore}. */
export interface PostgresServiceStoreOptions {
  /** Told when a batch is sent again after a lost connection or a deadlock. */
  onRetry?: (failure: { attempt: number; delayMs: number; error: Error }) => void;
  /** Times a batch is sent again after a lost connection or a deadlock before its writes fail (default 8). */
  retries?: number;
}

/** A write read a row that the batch has not fetched yet: the run stops, the row is fetched, the batch runs again. */
class RowMissing {
  constructor(
    readonly table: KeyedTable<object>,
    readonly key: string,
  ) {}
}

/** Order of locks: by table rank, table name, then key. */
function compareRows(a: RowMissing, b: RowMissing): number {
  if (a.table.lockRank !== b.table.lockRank) return a.table.lockRank - b.table.lockRank;
  if (a.table.name !== b.table.name) return a.table.name < b.table.name ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** The rows, each once, in lock order. */
function uniqueSorted(rows: readonly RowMissing[]): RowMissing[] {
  const sorted = [...rows].sort(compareRows);
  return sorted.filter((r, i) => i === 0 || compareRows(sorted[i - 1]!, r) !== 0);
}

/** The locks one attempt holds, by their place in the lock order. */
class LockOrder {
  private last: RowMissing | undefined;

  /** Splits sorted `rows` into those before the last lock held (to be tried) and those after it (to be waited for). */
  split(rows: readonly RowMissing[]): [RowMissing[], RowMissing[]] {
    const last = this.last;
    if (!last) return [[], [...rows]];
    return [rows.filter((r) => compareRows(r, last) < 0), rows.filter((r) => compareRows(r, last) > 0)];
  }

  hold(rows: readonly RowMissing[]): void {
    const top = rows[rows.length - 1];
    if (top && (!this.last || compareRows(top, this.last) > 0)) this.last = top;
  }
}

/** A row to lock comes before one the batch holds, and another batch has it: start again with every known row locked in order. */
class LockOrderConflict {
  constructor(readonly known: RowMissing[]) {}
}

type AnyTable = KeyedTable<object>;
type Row = Record<string, unknown>;

/** The rows of one batch: as fetched (locked), and as the writes that succeeded so far left them. */
class WorkingSet {
  /** Fetched rows by table and key; `undefined` for a key with no row. */
  readonly fetched = new Map<AnyTable, Map<string, Row | undefined>>();
  /** Rows as changed by the writes of the current run. */
  current = new Map<AnyTable, Map<string, Row | undefined>>();
  /** Rows changed by the write running now, merged into `current` when it returns. */
  overlay: Map<AnyTable, Map<string, Row>> | undefined;
  readOnly = false;

  get(table: AnyTable, key: string): Row | undefined {
    const own = this.overlay?.get(table)?.get(key);
    if (own) return own;
    const changed = this.current.get(table);
    if (changed?.has(key)) return changed.get(key);
    const fetched = this.fetched.get(table);
    if (!fetched?.has(key)) throw new RowMissing(table, key);
    return fetched.get(key);
  }

  put(table: AnyTable, row: Row): void {
    if (this.readOnly || !this.overlay) throw new Error("a read cannot change rows");
    const key = row[table.key] as string;
    this.get(table, key); // a row is read (and locked) before it is written
    let rows = this.overlay.get(table);
    if (!rows) this.overlay.set(table, (rows = new Map()));
    rows.set(key, row);
  }

  /** Runs every write from the fetched state, in order. Returns the outcomes, or the rows some write missed. */
  runAll(works: readonly (() => unknown)[]): { outcomes: WriteOutcome<unknown>[]; misses: RowMissing[] } {
    this.current = new Map();
    const outcomes: WriteOutcome<unknown>[] = [];
    const misses: RowMissing[] = [];
    for (const work of works) {
      this.overlay = new Map();
      try {
        outcomes.push({ ok: true, value: work() });
        for (const [table, rows] of this.overlay) {
          let into = this.current.get(table);
          if (!into) this.current.set(table, (into = new Map()));
          for (const [key, row] of rows) into.set(key, row);
        }
      } catch (err) {
        if (err instanceof RowMissing) misses.push(err);
        outcomes.push({ ok: false, error: err });
      } finally {
        this.overlay = undefined;
      }
    }
    return { outcomes, misses };
  }

  /** Every row fetched so far, present or not. */
  known(): RowMissing[] {
    const rows: RowMissing[] = [];
    for (const [table, byKey] of this.fetched) for (const key of byKey.keys()) rows.push(new RowMissing(table, key));
    return rows;
  }

  record(table: AnyTable, keys: readonly string[], rows: readonly Row[]): void {
    let into = this.fetched.get(table);
    if (!into) this.fetched.set(table, (into = new Map()));
    for (const key of keys) into.set(key, undefined);
    for (const row of rows) into.set(row[table.key] as string, row);
  }
}

/**
 * Most rounds of fetching a batch may take: a write reads this many rows, one after the other, at
 * most (a reservation of 100 lines, the most a request may carry, reads 101: its record, then each
 * product). Each round is one lock and one fetch statement.
 */
const MAX_ROUNDS = 1_000;
/** Attempts of a batch abandoned for the lock order before it waits for every lock it needs. */
const MAX_RESTARTS = 4;

/**
 * What every service's PostgreSQL store shares: the group-commit queue, the working set that
 * runs the domain's synchronous writes, `read` for keyed reads outside a write, and close. A
 * service's store extends it with its tables, its accessors (over {@link row} and {@link put})
 * and its list queries.
 */
export abstract class PostgresServiceStore {
  private readonly batcher: PostgresWriteBatcher<() => unknown, unknown>;
  private active: WorkingSet | undefined;
  private closed = false;

  protected constructor(
    protected readonly pool: pg.Pool,
    private readonly service: string,
    private readonly options: PostgresServiceStoreOptions = {},
  ) {
    this.batcher = createPostgresWriteBatcher((works) => this.commitBatch(works));
  }

  /**
   * Runs synchronous store work atomically, group-committed with the writes of other callers;
   * resolves once committed (durable as `DURABILITY` says).
   */
  write<T>(work: () => T): Promise<T> {
    return this.batcher.run(work) as Promise<T>;
  }

  /** Runs synchronous keyed reads (the accessors a write uses) against committed rows. Changing a row here throws. */
  async read<T>(work: () => T): Promise<T> {
    const set = new WorkingSet();
    set.readOnly = true;
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const { outcomes, misses } = this.runIn(set, [work]);
      const outcome = outcomes[0]!;
      if (misses.length === 0) {
        if (outcome.ok) return outcome.value as T;
        throw outcome.error;
      }
      await this.fetch(this.pool, set, uniqueSorted(misses)).catch((err: unknown) => {
        throw this.unavailable(err);
      });
    }
    throw new Error(`${this.service}: a read asked for more than ${MAX_ROUNDS} rows one after the other`);
  }

  /** Runs a query outside a write (a list); a lost or refused connection becomes {@link UnavailableError}. */
  protected async query<R extends object>(config: pg.QueryConfig): Promise<R[]> {
    try {
      return (await this.pool.query<R>(config)).rows;
    } catch (err) {
      throw this.unavailable(err);
    }
  }

  /** A connection failure as the callers' "try again later"; any other error as it is. */
  private unavailable(err: unknown): unknown {
    if (!isConnectionLost(err)) return err;
    return new UnavailableError(`the ${this.service} database does not answer: ${(err as Error).message}`, { cause: err });
  }

  /** The row of `table` under `key` as the running write sees it; only inside {@link write} or {@link read}. */
  protected row<R extends object>(table: KeyedTable<R>, key: string): R | undefined {
    return this.working().get(table as unknown as AnyTable, key) as R | undefined;
  }

  /** Inserts or replaces a row of `table` (by its key); only inside {@link write}. */
  protected put<R extends object>(table: KeyedTable<R>, row: R): void {
    this.working().put(table as unknown as AnyTable, row as Row);
  }

  /**
   * Whether the database answers a trivial query within `timeoutMs`: what a health check
   * asks while the store may be unreachable. Never throws.
   */
  async ping(timeoutMs = 2_000): Promise<boolean> {
    if (this.closed) return false;
    return pingPool(this.pool, timeoutMs);
  }

  /** Commits what is queued, then closes the pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.batcher.close();
    await this.pool.end();
  }

  private working(): WorkingSet {
    if (!this.active) throw new Error(`${this.service} store: rows are read and changed only inside write() or read()`);
    return this.active;
  }

  private runIn(set: WorkingSet, works: readonly (() => unknown)[]): ReturnType<WorkingSet["runAll"]> {
    this.active = set;
    try {
      return set.runAll(works);
    } finally {
      this.active = undefined;
    }
  }

  private async commitBatch(works: readonly (() => unknown)[]): Promise<WriteOutcome<unknown>[]> {
    let delayMs = 100;
    const retries = this.options.retries ?? 8;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commitOnce(works);
      } catch (err) {
        if (!isRetryable(err)) {
          // The server refused a statement of the batch (a row breaking a CHECK, a value it cannot
          // store): only the write that caused it may fail, so each is tried alone.
          if (works.length === 1) return [{ ok: false, error: err }];
          const outcomes: WriteOutcome<unknown>[] = [];
          for (const work of works) outcomes.push(...(await this.commitBatch([work])));
          return outcomes;
        }
        if (attempt > retries) throw this.unavailable(err);
        this.options.onRetry?.({ attempt, delayMs, error: err as Error });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        delayMs = Math.min(delayMs * 2, 2_000);
      }
    }
  }

  private async commitOnce(works: readonly (() => unknown)[]): Promise<WriteOutcome<unknown>[]> {
    // Rows known to be needed: none at first; after a lock-order conflict, every row the
    // previous attempt learnt of, locked at once, in order, before the first run.
    let known: RowMissing[] = [];
    for (let restart = 0; ; restart++) {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query("BEGIN");
        const set = new WorkingSet();
        const locks = new LockOrder();
        if (known.length > 0) await this.lockAndFetch(client, set, locks, known, restart >= MAX_RESTARTS);
        for (let round = 0; ; round++) {
          const { outcomes, misses } = this.runIn(set, works);
          if (misses.length === 0) {
            await this.apply(client, set);
            await client.query("COMMIT");
            return outcomes;
          }
          if (round >= MAX_ROUNDS) throw new Error(`${this.service}: a write asked for more than ${MAX_ROUNDS} rows one after the other`);
          await this.lockAndFetch(client, set, locks, misses, restart >= MAX_RESTARTS);
        }
      } catch (err) {
        broken = isConnectionLost(err);
        if (!broken) await client.query("ROLLBACK").catch(() => (broken = true));
        if (!(err instanceof LockOrderConflict)) throw err;
        known = err.known;
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * Locks the missing rows' keys and fetches them. Locks are taken in one global order (table
   * rank, table, key), so two batches never wait on each other in a cycle: keys after every lock
   * the batch holds are waited for; keys before one it holds are only tried, and if another batch
   * holds one of them the attempt is abandoned ({@link LockOrderConflict}) and started again with
   * every row it learnt of locked at once, in order. After `MAX_RESTARTS` it waits for them all
   * (PostgreSQL's deadlock detection is the backstop).
   */
  private async lockAndFetch(
    client: pg.PoolClient,
    set: WorkingSet,
    locks: LockOrder,
    misses: readonly RowMissing[],
    waitForAll: boolean,
  ): Promise<void> {
    const wanted = uniqueSorted(misses);
    const [before, after] = waitForAll ? [[], wanted] : locks.split(wanted);
    if (before.length > 0) {
      const refused = await client.query<{ refused: number }>({
        name: "service-store.try-lock",
        text: "SELECT count(*) FILTER (WHERE NOT pg_try_advisory_xact_lock(hashtext(t), hashtext(k)))::int AS refused FROM unnest($1::text[], $2::text[]) AS l(t, k)",
        values: [before.map((m) => m.table.name), before.map((m) => m.key)],
      });
      if ((refused.rows[0]?.refused ?? 0) > 0) throw new LockOrderConflict([...set.known(), ...wanted]);
    }
    if (after.length > 0) {
      await client.query({
        name: "service-store.lock",
        text:
          "SELECT pg_advisory_xact_lock(hashtext(t), hashtext(k)) " +
          "FROM (SELECT t, k FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS l(t, k, i) ORDER BY i) AS ordered",
        values: [after.map((m) => m.table.name), after.map((m) => m.key)],
      });
    }
    locks.hold(wanted);
    await this.fetch(client, set, wanted);
  }

  /** Fetches the missing rows (one query per table); unlocked, unless the caller locked them. */
  private async fetch(db: pg.Pool | pg.PoolClient, set: WorkingSet, misses: readonly RowMissing[]): Promise<void> {
    const byTable = new Map<AnyTable, string[]>();
    for (const m of misses) {
      let keys = byTable.get(m.table);
      if (!keys) byTable.set(m.table, (keys = []));
      keys.push(m.key);
    }
    for (const [table, keys] of byTable) {
      const columns = Object.keys(table.columns);
      const found = await db.query<Row>({
        name: `${table.name}.fetch`,
        text: `SELECT ${columns.join(", ")} FROM ${table.name} WHERE ${table.key} = ANY($1::text[])`,
        values: [keys],
      });
      set.record(table, keys, found.rows);
    }
  }

  /** Writes the rows the batch changed: one INSERT and one UPDATE per table at most, each taking its rows as arrays. */
  private async apply(client: pg.PoolClient, set: WorkingSet): Promise<void> {
    for (const [table, rows] of set.current) {
      const inserts: Row[] = [];
      const updates: Row[] = [];
      for (const [key, row] of rows) {
        if (!row) continue;
        (set.fetched.get(table)?.get(key) === undefined ? inserts : updates).push(row);
      }
      const columns = Object.keys(table.columns);
      const types = columns.map((c) => (table.columns as Record<string, ColumnType>)[c]!);
      const arrays = (list: Row[]) => columns.map((c) => list.map((r) => r[c]));
      const unnest = `unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(", ")})`;
      if (inserts.length > 0) {
        await client.query({
          name: `${table.name}.insert`,
          text: `INSERT INTO ${table.name} (${columns.join(", ")}) SELECT * FROM ${unnest}`,
          values: arrays(inserts),
        });
      }
      if (updates.length > 0) {
        const set = columns.filter((c) => c !== table.key).map((c) => `${c} = u.${c}`);
        await client.query({
          name: `${table.name}.update`,
          text: `UPDATE ${table.name} AS t SET ${set.join(", ")} FROM ${unnest} AS u(${columns.join(", ")}) WHERE t.${table.key} = u.${table.key}`,
          values: arrays(updates),
        });
      }
    }
  }
}

/** Deadlock and serialization failures, and lost connections: the batch may be sent again. */
function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === "40P01" || code === "40001" || isConnectionLost(err);
}

/** Inserts `rows` into `table` when it is empty (first start), once even when replicas start together. Returns whether it did. */
export async function seedPostgresTable(pool: pg.Pool, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<boolean> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1), 0)", [`${table}.seed`]);
    const empty = (await client.query(`SELECT 1 FROM ${table} LIMIT 1`)).rowCount === 0;
    if (empty) {
      for (const row of rows) {
        await client.query(`INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`, row);
      }
    }
    await client.query("COMMIT");
    return empty;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
