/**
 * `node --import tsx bench/otlp-discard-sink.ts [port]`: an OTLP/HTTP receiver on 127.0.0.1 that
 * answers every export 200 and keeps nothing, so a benchmark with tracing on pays for recording,
 * batching, encoding and sending spans, and not for a collector on the same two cores. It prints
 * the spans' bytes received every 10 s. Stop it with Ctrl-C.
 */
import { createServer } from "node:http";

const port = Number(process.argv[2] ?? 4318);
let requests = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on("data", (chunk: Buffer) => (bytes += chunk.length));
  req.on("end", () => {
    requests++;
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
server.listen(port, "127.0.0.1", () => console.log(`OTLP discard sink on http://127.0.0.1:${port}`));
setInterval(() => console.log(`${requests} exports, ${(bytes / 1024 / 1024).toFixed(1)} MiB`), 10_000).unref();
process.on("SIGINT", () => server.close(() => process.exit(0)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
