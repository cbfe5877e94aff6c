/**
 * The kinds of refusal a service's domain can make, so that one mapper
 * (`domain-error-to-connect.ts`) turns every service's errors into status codes: a service
 * declares its errors as subclasses of these and writes no mapping of its own.
 *
 * Domain code only: no Connect imports here.
 */

/** What the request names does not exist (NOT_FOUND). Nothing is recorded. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** The state of the system refuses the request (FAILED_PRECONDITION). It changed nothing, or recorded the refusal. */
export class RefusedError extends Error {
  override name = "RefusedError";
}

/**
 * The service cannot answer now, and the same call may succeed later (UNAVAILABLE, which callers
 * retry): its database does not answer. Whether the request took effect is unknown; retrying it
 * under its idempotency key is safe.
 */
export class UnavailableError extends Error {
  override name = "UnavailableError";
}

/** The request conflicts with one already made under the same key (ALREADY_EXISTS). Nothing changes. */
export class ConflictError extends Error {
  override name = "ConflictError";
}
