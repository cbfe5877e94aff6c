/**
 * The platform's PostgreSQL connection: a node-postgres pool for one connection string, opened
 * with bounded retries (a database that is still starting is waited for, within limits) and
 * with `DURABILITY` turned into the session's `synchronous_commit`. Errors name the host, port,
 * database and user, never the password, so they can be logged and shown as they are.
 */
import pg from "pg";
import type { Durability } from "./sqlite.js";

/** Where a connection string points, without its password: for messages and logs. */
export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Options of {@link openPostgresPool}. */
export interface PostgresPoolOptions {
  /** A libpq-style URL or key=value string, e.g. `postgresql://saga@127.0.0.1:5432/saga`. */
  connectionString: string;
  /**
   * What an acknowledged commit survives. `process`: `synchronous_commit = off`, a crash of our
   * process loses nothing (the server holds the commit), a crash of the server may lose the
   * last few hundred milliseconds of commits. `power`: `synchronous_commit = on`, a commit is
   * answered after its WAL is flushed; refused when the server runs with `fsync = off`.
   */
  durability?: Durability;
  /** Shown in `pg_stat_activity`. */
  applicationName?: string;
  /** Most connections in the pool (default 8). */
  maxConnections?: number;
  /** Connection attempts at open before giving up (default 10). */
  connectAttempts?: number;
  /** Wait before the first retry, doubled after each failure up to 2 s (default 250 ms). */
  retryDelayMs?: number;
  /** Told of each failed attempt that will be retried (for logs and tests). */
  onRetry?: (failure: { attempt: number; delayMs: number; error: Error }) => void;
  /** Told of an error on an idle pooled connection (the pool drops that connection). */
  onIdleError?: (error: Error) => void;
}

/** PostgreSQL could not be reached or used at start; the message names the target, never the password. */
export class PostgresConnectError extends Error {
  override name = "PostgresConnectError";
  constructor(
    readonly target: PostgresTarget,
    readonly attempts: number,
    message: string,
  ) {
    super(message);
  }
}

/** Error codes of a server that may answer soon: starting up, shutting down, or full. */
const TRANSIENT_SERVER_CODES = new Set(["57P03", "53300", "08006", "08001", "08004"]);
/** Socket errors of a server that is not (yet) reachable. */
const TRANSIENT_SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN", "ENOTFOUND", "EPIPE"]);

/**
 * Parses `connectionString` the way node-postgres does (including its PG* environment
 * defaults) and returns where it points, without the password.
 */
export function postgresTarget(connectionString: string): PostgresTarget {
  const probe = new pg.Client({ connectionString });
  return {
    host: probe.host,
    port: probe.port,
    database: probe.database ?? probe.user ?? "",
    user: probe.user ?? "",
  };
}

/** "host 127.0.0.1 port 5432, database "saga", user "saga"": a target as errors show it. */
export function describePostgresTarget(target: PostgresTarget): string {
  return `host ${target.host} port ${target.port}, database "${target.database}", user "${target.user}"`;
}

/**
 * node-postgres returns int8 as a string. Ours (milliseconds, epochs, counts) are numbers well
 * inside 2^53, so they are read as numbers; one that is not fails loudly rather than rounding.
 */
const INT8_OID = 20;
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`int8 ${text} does not fit a JavaScript number exactly`);
  return n;
}
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID && format !== "binary" ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/**
 * Opens a pool and proves it can serve: connects (retrying connection failures and a server
 * that is starting, with capped exponential backoff, at most `connectAttempts` times), checks
 * that the server can keep `durability`'s promise, and returns the pool.
 * @throws PostgresConnectError naming host, port, database and user (not the password) when
 * every attempt failed, or at once for errors that waiting cannot fix (authentication, a
 * missing database, `fsync = off` with `power`).
 */
export async function openPostgresPool(options: PostgresPoolOptions): Promise<pg.Pool> {
  const durability = options.durability ?? "process";
  const target = postgresTarget(options.connectionString);
  const password = new pg.Client({ connectionString: options.connectionString }).password;
  const attempts = Math.max(1, options.connectAttempts ?? 10);
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 8,
    application_name: options.applicationName ?? "tp-saga",
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 60_000,
    // A server that vanished without a reset (a dead host, a dropped route) is noticed by TCP
    // keepalive probes instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Applied by the server at session start, so every pooled connection has it before its first query.
    options: `-c synchronous_commit=${durability === "power" ? "on" : "off"}`,
    types,
  });
  pool.on("error", (err) => options.onIdleError?.(err));
  const scrub = (text: string): string => (password ? text.split(password).join("***") : text);
  const fail = async (attempt: number, why: string): Promise<never> => {
    await pool.end().catch(() => undefined);
    throw new PostgresConnectError(target, attempt, scrub(`PostgreSQL at ${describePostgresTarget(target)}: ${why}`));
  };

  let delayMs = options.retryDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient | undefined;
    try {
      client = await pool.connect();
      if (durability === "power") {
        // Every level but off flushes the local WAL before a commit returns.
        const level = (await client.query<{ synchronous_commit: string }>("SHOW synchronous_commit")).rows[0]?.synchronous_commit;
        if (level === undefined || level === "off") {
          client.release();
          return await fail(
            attempt,
            `DURABILITY=power needs synchronous_commit on, and the session has ${level ?? "none"} (does the connection string set options?)`,
          );
        }
        const fsync = (await client.query<{ fsync: string }>("SHOW fsync")).rows[0]?.fsync;
        if (fsync !== "on") {
          client.release();
          return await fail(attempt, `DURABILITY=power needs the server's fsync to be on, and it is ${fsync ?? "unknown"}`);
        }
      }
      client.release();
      return pool;
    } catch (err) {
      if (err instanceof PostgresConnectError) throw err;
      client?.release(true);
      const error = err instanceof Error ? err : new Error(String(err));
      const reason = describeFailure(error);
      if (!isTransient(error)) return fail(attempt, `cannot connect: ${reason}`);
      if (attempt >= attempts) return fail(attempt, `unreachable after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${reason}`);
      options.onRetry?.({ attempt, delayMs, error: new Error(scrub(reason)) });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 2_000);
    }
  }
}

function errorCode(err: Error): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

function isTransient(err: Error): boolean {
  const code = errorCode(err);
  if (code === undefined) return /timeout|terminated|closed|ECONNREFUSED/i.test(err.message);
  return TRANSIENT_SERVER_CODES.has(code) || TRANSIENT_SOCKET_CODES.has(code);
}

function describeFailure(err: Error): string {
  const code = errorCode(err);
  const aggregate = err as Error & { errors?: unknown };
  // A host name with several addresses fails with an AggregateError whose message is empty.
  const message = err.message || (Array.isArray(aggregate.errors) ? aggregate.errors.map((e) => String((e as Error).message ?? e)).join("; ") : "");
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** Server codes of a connection that ended under a statement: shut down, crashed, restarting. */
const CONNECTION_LOST_CODES = new Set(["57P01", "57P02", "57P03"]);

/**
 * Whether `err` says the connection failed under a statement (its outcome is unknown), rather
 * than the server refusing the statement: what a writer may retry, with a new connection.
 */
export function isConnectionLost(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = errorCode(err);
  if (code === undefined) return /connection|terminated|timeout|not queryable|closed|ECONN/i.test(err.message);
  return code.startsWith("08") || CONNECTION_LOST_CODES.has(code) || TRANSIENT_SOCKET_CODES.has(code);
}

/**
 * Whether the server answers now: one `SELECT 1` on `pool`, false after `timeoutMs` or on any
 * error (what a health check asks while the database may be unreachable). Never throws.
 */
export async function pingPool(pool: pg.Pool, timeoutMs = 2_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const query = pool.query("SELECT 1");
    query.catch(() => undefined);
    await Promise.race([query, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("timed out")), timeoutMs)))]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
