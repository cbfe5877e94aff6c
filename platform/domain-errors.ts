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

/** The request conflicts with one already made under the same key (ALREADY_EXISTS). Nothing changes. */
export class ConflictError extends Error {
  override name = "ConflictError";
}
