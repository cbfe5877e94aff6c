import type { Request, RequestHandler, Response } from "express";
import { CounterFamily, type CounterCell, HistogramFamily, type HistogramCell, LATENCY_BUCKETS_SECONDS } from "#platform/metric-families.js";
import { metricsEnabled, metricsRegistry } from "#platform/metrics-registry.js";
import { answerMetrics } from "#platform/metrics-server.js";
import { readQuery } from "./query-string.js";

/** The gateway's request metrics and its /metrics endpoint. */
export interface GatewayMetrics {
  /** Middleware, mounted before the routes: records each answered request once it is sent. */
  readonly record: RequestHandler;
  /** `GET /metrics`: the process's registry in Prometheus' text format; a query string is a 400, as on every endpoint. */
  readonly serve: RequestHandler;
}

type HttpLabel = "method" | "route" | "status";

let families: { requests: CounterFamily<HttpLabel>; seconds: HistogramFamily<HttpLabel> } | undefined;

/**
 * `http_requests_total` and `http_request_duration_seconds` by `method`, `route` (the route
 * as declared, such as `/saga/:id`, so ids do not multiply the series; `unmatched` for a
 * path the gateway does not serve) and `status`; or undefined when metrics are off.
 */
export function gatewayMetrics(): GatewayMetrics | undefined {
  if (!metricsEnabled()) return undefined;
  families ??= {
    requests: new CounterFamily(metricsRegistry, "http_requests_total", "HTTP requests answered by the gateway, by method, route and status", [
      "method",
      "route",
      "status",
    ]),
    seconds: new HistogramFamily(
      metricsRegistry,
      "http_request_duration_seconds",
      "Time from a request's arrival at the app to its answer being sent, in seconds",
      ["method", "route", "status"],
      LATENCY_BUCKETS_SECONDS,
    ),
  };
  const { requests, seconds } = families;
  const cells = new Map<string, { count: CounterCell; seconds: HistogramCell }>();
  const recordAnswer = (req: Request, res: Response, startedAt: number): void => {
    const route = (req.route as { path?: unknown } | undefined)?.path;
    const labels = { method: req.method, route: typeof route === "string" ? route : "unmatched", status: String(res.statusCode) };
    const key = `${labels.method} ${labels.route} ${labels.status}`;
    let cell = cells.get(key);
    if (!cell) cells.set(key, (cell = { count: requests.cell(labels), seconds: seconds.cell(labels) }));
    cell.count.inc();
    cell.seconds.observe((performance.now() - startedAt) / 1000);
  };
  return {
    record(req, res, next) {
      const startedAt = performance.now();
      res.once("finish", () => recordAnswer(req, res, startedAt));
      next();
    },
    serve(req, res) {
      readQuery(req.originalUrl, []);
      void answerMetrics(req, res);
    },
  };
}
