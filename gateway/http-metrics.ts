import type { IncomingMessage, ServerResponse } from "node:http";
import type { RequestHandler, Response } from "express";
import { CounterFamily, type CounterCell, HistogramFamily, type HistogramCell, LATENCY_BUCKETS_SECONDS } from "#platform/metric-families.js";
import { metricsEnabled, metricsRegistry } from "#platform/metrics-registry.js";
import { answerMetrics } from "#platform/metrics-server.js";
import { readQuery } from "./query-string.js";

/** The gateway's request metrics and its /metrics endpoint. */
export interface GatewayMetrics {
  /** Middleware, mounted before the routes: records each answered request once it is sent, under the route Express matched. */
  readonly record: RequestHandler;
  /** Records a request the gateway serves without Express (`POST /saga`) under `route`, once it is answered. */
  readonly recordRoute: (req: IncomingMessage, res: ServerResponse, route: string) => void;
  /** `GET /metrics`: the process's registry in Prometheus' text format; a query string is a 400, as on every endpoint. */
  readonly serve: RequestHandler;
}

type HttpLabel = "method" | "route" | "status";

const STARTED_AT = Symbol("request started at");
const ROUTE = Symbol("route served without Express");
interface Timed {
  [STARTED_AT]?: number;
  [ROUTE]?: string;
}

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
  // method → route → status → cells: a lookup builds no key string.
  const cells = new Map<string, Map<string, Map<number, { count: CounterCell; seconds: HistogramCell }>>>();
  const cellsOf = (method: string, route: string, status: number) => {
    let byRoute = cells.get(method);
    if (!byRoute) cells.set(method, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, (byStatus = new Map()));
    let cell = byStatus.get(status);
    if (!cell) {
      const labels = { method, route, status: String(status) };
      byStatus.set(status, (cell = { count: requests.cell(labels), seconds: seconds.cell(labels) }));
    }
    return cell;
  };
  // One listener for every response (no closure per request); the start time rides on the response.
  function onFinish(this: ServerResponse & Timed): void {
    const route = this[ROUTE] ?? ((this.req as Partial<Response["req"]>).route as { path?: unknown } | undefined)?.path;
    const cell = cellsOf(this.req.method!, typeof route === "string" ? route : "unmatched", this.statusCode);
    cell.count.inc();
    cell.seconds.observe((performance.now() - this[STARTED_AT]!) / 1000);
  }
  const startTiming = (res: ServerResponse & Timed): void => {
    res[STARTED_AT] = performance.now();
    res.on("finish", onFinish);
  };
  return {
    record(_req, res, next) {
      startTiming(res);
      next();
    },
    recordRoute(_req, res, route) {
      (res as ServerResponse & Timed)[ROUTE] = route;
      startTiming(res);
    },
    serve(req, res) {
      readQuery(req.originalUrl, []);
      void answerMetrics(req, res);
    },
  };
}
