import { Code, ConnectError } from "@connectrpc/connect";
import { codeToHttpStatus } from "@connectrpc/connect/protocol-connect";
import { codeName } from "#platform/rpc-errors.js";

/** A client error found by the gateway itself, before anything is started. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The JSON error body and status of any failure; the one place that maps gRPC codes to HTTP. */
export function httpErrorOf(err: unknown): { status: number; body: { error: string; code?: string } } {
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message } };
  const e = ConnectError.from(err);
  // Connect's table, except that "the orchestrator cannot be reached" is a 503 to HTTP clients.
  const status = e.code === Code.Unavailable ? 503 : codeToHttpStatus(e.code);
  const message = status >= 500 && e.code !== Code.Unavailable && e.code !== Code.DeadlineExceeded ? "internal error" : e.rawMessage;
  return { status, body: { error: message, code: codeName(e.code) } };
}
