import { Code, ConnectError } from "@connectrpc/connect";
import { ConflictError, NotFoundError, RefusedError, UnavailableError } from "./domain-errors.js";

/**
 * The one place where a service's domain errors become status codes, for every service:
 * {@link NotFoundError} NOT_FOUND, {@link RefusedError} FAILED_PRECONDITION,
 * {@link ConflictError} ALREADY_EXISTS, {@link UnavailableError} UNAVAILABLE, each with its message. A `ConnectError` (input
 * validation, demo mode) passes through; anything else is a bug: INTERNAL "internal error",
 * with the cause attached for the server's log and not sent to the caller.
 */
export function domainErrorToConnect(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof NotFoundError) return new ConnectError(err.message, Code.NotFound);
  if (err instanceof RefusedError) return new ConnectError(err.message, Code.FailedPrecondition);
  if (err instanceof ConflictError) return new ConnectError(err.message, Code.AlreadyExists);
  if (err instanceof UnavailableError) return new ConnectError(err.message, Code.Unavailable);
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
