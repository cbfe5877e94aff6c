import type { ServerResponse } from "node:http";

/**
 * Answers `status` with `body` as JSON, as Express's `res.status(status).json(body)` did
 * (`Content-Type: application/json; charset=utf-8` and a `Content-Length`), with `headers`
 * (name, value, name, value…) before them, in one `writeHead`: the answer of the paths the
 * gateway serves without Express (`POST /saga`), where Express's response helpers cost more
 * than the answer.
 */
export function answerJson(res: ServerResponse, status: number, body: unknown, headers: readonly string[] = []): void {
  const text = JSON.stringify(body);
  res.writeHead(status, [...headers, "Content-Type", "application/json; charset=utf-8", "Content-Length", String(Buffer.byteLength(text))]);
  res.end(text);
}
