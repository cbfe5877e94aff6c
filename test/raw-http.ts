import { connect } from "node:net";

/** One HTTP/1.1 answer as read off the socket. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** What came back for raw bytes: an answer, or why there is none. */
export type RawOutcome = { readonly answer: RawAnswer } | { readonly none: string };

function parseAnswer(bytes: Buffer, head: boolean): RawAnswer | undefined {
  let text = bytes.toString("latin1");
  // Interim answers (100 Continue) come before the real one.
  while (/^HTTP\/1\.1 1\d\d /.test(text) && text.includes("\r\n\r\n")) text = text.slice(text.indexOf("\r\n\r\n") + 4);
  const end = text.indexOf("\r\n\r\n");
  const line = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (end < 0 || !line) return undefined;
  const headers = new Map<string, string>();
  for (const h of text.slice(0, end).split("\r\n").slice(1)) {
    const colon = h.indexOf(":");
    headers.set(h.slice(0, colon).trim().toLowerCase(), h.slice(colon + 1).trim());
  }
  let body = head ? "" : text.slice(end + 4);
  if (headers.get("transfer-encoding") === "chunked") {
    let decoded = "";
    for (let rest = body; ;) {
      const size = parseInt(rest.slice(0, rest.indexOf("\r\n")), 16);
      if (!(size > 0)) break;
      const start = rest.indexOf("\r\n") + 2;
      decoded += rest.slice(start, start + size);
      rest = rest.slice(start + size + 2);
    }
    body = decoded;
  }
  return { status: Number(line[1]), headers, body: Buffer.from(body, "latin1").toString("utf8") };
}

/**
 * Sends `request` as raw bytes to 127.0.0.1:`port` and reads one answer until the server
 * closes the connection (requests here carry `Connection: close`), so hostile tests can send
 * what no HTTP client library would (bad escapes, NUL, non-UTF-8, mismatched lengths). Gives
 * up after `boundMs` — an input the gateway never answers is a failure of its own.
 */
export function sendRaw(port: number, request: Buffer, options: { head?: boolean; boundMs?: number } = {}): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1");
    const finish = (why: string) => {
      clearTimeout(timer);
      socket.destroy();
      const answer = parseAnswer(Buffer.concat(chunks), options.head ?? false);
      resolve(answer ? { answer } : { none: why });
    };
    const timer = setTimeout(() => finish(`no answer within ${options.boundMs ?? 15_000} ms`), options.boundMs ?? 15_000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("close", () => finish("connection closed without an answer"));
    // A reset after the server answered and closed (it stops reading a refused body) is no fault.
    socket.on("error", (err: NodeJS.ErrnoException) => finish(`socket error ${err.code ?? err.message}`));
    socket.write(request);
  });
}
