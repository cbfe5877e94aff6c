import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The transient gRPC codes of the README (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED,
 * ABORTED): left to the engine's retries. Any other code a service answers with
 * (FAILED_PRECONDITION, NOT_FOUND, INVALID_ARGUMENT, …) is a business refusal: never retried,
 * the saga compensates — the orchestrator's split.
 */
const TRANSIENT = new Set<Code>([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted]);

/** True when `err` is a service's business refusal, which a saga answers by compensating. */
export function isBusinessFailure(err: unknown): err is ConnectError {
  return (
    err instanceof ConnectError && !TRANSIENT.has(err.code) && err.code !== Code.Canceled && err.code !== Code.Unknown && err.code !== Code.Internal
  );
}

/** The gRPC code name of `err` ("FAILED_PRECONDITION"), or "UNKNOWN". */
export function codeName(err: unknown): string {
  if (!(err instanceof ConnectError)) return "UNKNOWN";
  return (Code[err.code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
