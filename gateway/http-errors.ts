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

/** What Express's router throws for a path parameter that does not percent-decode. */
function isPathDecodeError(err: unknown): err is URIError & { status: number } {
  return err instanceof URIError && (err as { status?: unknown }).status === 400;
}

/**
 * The JSON error body and status of any failure; the one place that maps gRPC codes to HTTP.
 * Anything that is not a client error the gateway recognises is a 500 "internal error" (the
 * cause stays in the gateway's log).
 */
export function httpErrorOf(err: unknown): { status: number; body: { error: string; code?: string } } {
  if (err instanceof HttpError) return { status: err.status, body: { error: err.message } };
  if (isPathDecodeError(err)) return { status: 400, body: { error: "path: not valid percent-encoded UTF-8" } };
  const e = ConnectError.from(err);
  // Connect's table, except that "the orchestrator cannot be reached" is a 503 to HTTP clients.
  const status = e.code === Code.Unavailable ? 503 : codeToHttpStatus(e.code);
  const message = status >= 500 && e.code !== Code.Unavailable && e.code !== Code.DeadlineExceeded ? "internal error" : e.rawMessage;
  return { status, body: { error: message, code: codeName(e.code) } };
}
