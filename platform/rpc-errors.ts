import type * as grpc from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";

const RETRYABLE: ReadonlySet<Code> = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Aborted]);

/**
 * The one classifier of failures (docs/saga-semantics.md, "Calls, retries and error classes"): transient codes (UNAVAILABLE, DEADLINE_EXCEEDED,
 * RESOURCE_EXHAUSTED, ABORTED) mean "retry the same call"; every other code is a business
 * failure or a bug, and is not retried.
 */
export function isRetryable(err: unknown): boolean {
  return RETRYABLE.has(ConnectError.from(err).code);
}

const CODE_NAMES = new Map<Code, string>(
  Object.values(Code)
    .filter((c): c is Code => typeof c === "number")
    .map((c) => [c, Code[c].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()]),
);

/** The gRPC name of a code, as grpcurl prints it: Code.FailedPrecondition → "FAILED_PRECONDITION". */
export function codeName(code: Code): string {
  return CODE_NAMES.get(code) ?? "UNKNOWN";
}

/** An error as `{ code, message }` with the gRPC code name, for logs and the saga journal. */
export function describeError(err: unknown): { code: string; message: string } {
  const e = ConnectError.from(err);
  return { code: codeName(e.code), message: e.rawMessage };
}

/**
 * Awaits a call that is expected to fail and returns its code and message, for assertions.
 * @throws Error when the call succeeds.
 */
export async function failureOf(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    return { code: e.code, message: e.rawMessage };
  }
  throw new Error("expected the call to fail");
}

/** A grpc-js error as a ConnectError with the same code and message. */
export function fromGrpcError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e.code === "number") {
    return new ConnectError(e.details ?? String(err), e.code as number as Code);
  }
  return ConnectError.from(err);
}
