import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { listenOnPort } from "#platform/listen-on-port.js";

/** The gateway's HTTP server, listening. */
export interface HttpServer {
  readonly server: Server;
  readonly url: string;
  /** Stops accepting connections and resolves when the open ones are done. */
  close(): Promise<void>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** How long a client may take to send a whole request (headers and body); past it, 408. */
  readonly requestTimeoutMs: number;
  /** Serve HTTPS with this certificate chain and key (PEM) instead of HTTP. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
}

/** A raw HTTP/1.1 answer with a JSON error body, for the answers Node writes on the socket itself. */
function rawJsonAnswer(status: number, reason: string, error: string, extraHeaders = ""): string {
  const body = JSON.stringify({ error });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}Connection: close\r\n\r\n${body}`
  );
}

/** Node's parse errors as the fault a client can fix. */
function clientFault(err: NodeJS.ErrnoException & { reason?: string }): { status: number; reason: string; error: string } {
  if (err.code === "HPE_HEADER_OVERFLOW") return { status: 431, reason: "Request Header Fields Too Large", error: "headers: too large" };
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, reason: "Request Timeout", error: "request: not received in full in time" };
  const detail = err.reason ? ` (${err.reason})` : "";
  if (err.code === "HPE_INVALID_METHOD")
    return { status: 400, reason: "Bad Request", error: `method: not an HTTP method the gateway knows${detail}` };
  return { status: 400, reason: "Bad Request", error: `request: not valid HTTP/1.1${detail}` };
}

/**
 * Serves `app` with Node's HTTP server, so that the answers Node gives without asking the app
 * are JSON errors naming the fault like every other 4xx of the gateway: a request it cannot
 * parse (unknown method, NUL or bytes not allowed in the request line or a header, bad
 * Content-Length), headers too large (431), a request not received in full within
 * `requestTimeoutMs` (408: a Content-Length larger than the body sent), an `Expect` other
 * than 100-continue (417), and CONNECT (405).
 */
export async function listenHttp(app: RequestListener, options: HttpServerOptions): Promise<HttpServer> {
  const serverOptions = {
    requestTimeout: options.requestTimeoutMs,
    headersTimeout: options.requestTimeoutMs,
    connectionsCheckingInterval: Math.min(1_000, options.requestTimeoutMs),
  };
  // An https.Server is an http.Server over TLS sockets: the same events and answers below.
  const server = options.tls
    ? (createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, app) as unknown as Server)
    : createServer(serverOptions, app);
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    const fault = clientFault(err);
    const refuse = () => (socket.writable ? socket.end(rawJsonAnswer(fault.status, fault.reason, fault.error)) : socket.destroy());
    // Bytes that do not parse after a complete request on the same connection: that request
    // is answered first (its saga may have started), then the rest is refused and the
    // connection closed, in order, so neither answer corrupts the other.
    // A fault in the in-flight request itself (its body timed out or broke off) is answered at once.
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (inFlight && !inFlight.writableFinished && inFlight.req.complete) return void inFlight.once("close", refuse);
    if (inFlight?.headersSent) return void socket.destroy();
    refuse();
  });
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    const body = JSON.stringify({ error: `Expect: ${JSON.stringify(req.headers.expect ?? "")} is not supported (only 100-continue is)` });
    res.writeHead(417, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), connection: "close" });
    res.end(body);
  });
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    socket.end(rawJsonAnswer(405, "Method Not Allowed", "method: the gateway is not a proxy and does not take CONNECT"));
  });
  const port = await listenOnPort(server, options.port, options.host);
  return {
    server,
    url: `${options.tls ? "https" : "http"}://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
