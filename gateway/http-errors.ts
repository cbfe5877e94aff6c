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

/** What body-parser says went wrong, as the fault a client can fix. */
const BODY_FAULTS: Readonly<Record<string, readonly [number, string]>> = {
  "entity.parse.failed": [400, "body: malformed JSON"],
  "entity.too.large": [413, "body: too large"],
  "encoding.unsupported": [415, "Content-Encoding: unsupported (the gateway reads gzip, deflate, br or identity)"],
  "charset.unsupported": [415, "Content-Type: unsupported charset (the gateway reads utf-8)"],
  "request.aborted": [400, "body: the client stopped sending it before Content-Length bytes arrived"],
  "request.size.invalid": [400, "Content-Length: does not match the length of the body"],
};

/**
 * A failure to read a request's body as a client error naming the fault: the body-parser
 * error types above, and a body that does not decode as its `Content-Encoding` says (zlib
 * and brotli errors, which body-parser passes on as a bare 400). Any other error is returned
 * as it is (a bug: 500).
 */
export function bodyReadError(err: unknown, contentEncoding: string | undefined): unknown {
  const e = err as { type?: unknown; status?: unknown; message?: unknown };
  const known = typeof e.type === "string" ? BODY_FAULTS[e.type] : undefined;
  if (known) return new HttpError(known[0], known[1]);
  if (e.type === undefined && typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    return new HttpError(400, `body: does not decode as its Content-Encoding (${contentEncoding ?? "identity"}) says`);
  }
  return err;
}
