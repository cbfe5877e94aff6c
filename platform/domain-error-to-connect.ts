import { Code, ConnectError } from "@connectrpc/connect";
import { ConflictError, NotFoundError, RefusedError } from "./domain-errors.js";
import { isConnectionLost } from "./postgres.js";

/**
 * The one place where a service's domain errors become status codes, for every service:
 * {@link NotFoundError} NOT_FOUND, {@link RefusedError} FAILED_PRECONDITION,
 * {@link ConflictError} ALREADY_EXISTS, each with its message. A `ConnectError` (input
 * validation, demo mode) passes through. A lost connection to the service's PostgreSQL database
 * (a server restarting, a connection cut) is UNAVAILABLE: the outcome is unknown and the caller
 * retries with the same key, as for a lost reply, instead of taking it for a refusal. Anything
 * else is a bug: INTERNAL "internal error", with the cause attached for the server's log and
 * not sent to the caller.
 */
export function domainErrorToConnect(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof NotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof RefusedError) return new ConnectError(err.message, Code.FailedPrecondition);
  if (err instanceof ConflictError) return new ConnectError(err.message, Code.AlreadyExists);
  if (lostDatabaseConnection(err))
    return new ConnectError("the service's database is unreachable; retry later", Code.Unavailable, undefined, undefined, err);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/**
 * A connection to PostgreSQL lost under a statement: by its code (SQLSTATE class 08, an
 * administrator's shutdown, a socket error), or by node-postgres's own messages for a connection
 * that ended. Never a SQLite error, whose closed-database message also speaks of a connection.
 */
function lostDatabaseConnection(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (typeof (err as { code?: unknown }).code === "string") return isConnectionLost(err);
  return /^Connection terminated|is not queryable|timeout exceeded when trying to connect/.test(err.message);
}
