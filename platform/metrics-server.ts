import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { listenOnPort } from "./listen-on-port.js";
import { metricsRegistry } from "./metrics-registry.js";

/** A process's /metrics HTTP server, listening. */
export interface MetricsServer {
  /** `http://host:port/metrics`, with the port actually bound (so port 0 works). */
  readonly url: string;
  close(): Promise<void>;
}

/** Answers `GET /metrics` (and HEAD) with the registry in Prometheus' text format. */
export async function answerMetrics(_req: IncomingMessage, res: ServerResponse): Promise<void> {
  let body: string;
  try {
    body = await metricsRegistry.metrics();
  } catch (err) {
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    res.end(`metrics could not be collected: ${(err as Error).message}\n`);
    return;
  }
  res.writeHead(200, { "content-type": metricsRegistry.contentType, "content-length": Buffer.byteLength(body) });
  res.end(_req.method === "HEAD" ? undefined : body);
}

/**
 * Serves the process's metrics at `http://host:port/metrics` on a server of their own, apart
 * from the gRPC port (Prometheus scrapes HTTP/1.1). Any other path is 404; any other method 405.
 * @throws when the port cannot be bound (in use, or not allowed).
 */
export async function startMetricsServer(options: { host: string; port: number }): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found: metrics are at /metrics\n");
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      res
        .writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" })
        .end(`method: /metrics takes GET, HEAD, not ${req.method}\n`);
    } else {
      void answerMetrics(req, res);
    }
  });
  const port = await listenOnPort(server, options.port, options.host);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
