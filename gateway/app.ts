import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import express, { type NextFunction, type Request, type Response } from "express";
import type { Client } from "@connectrpc/connect";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { checkId, MAX_KEY_LENGTH } from "#platform/field-rules.js";
import type { Logger } from "#platform/logger.js";
import { CONSOLE_PATHS, consoleRoutes } from "./console-assets.js";
import { ApiKeyRing } from "./api-keys.js";
import { httpErrorOf } from "./http-errors.js";
import { createOperatorAuthenticator, type OperatorAuthenticator } from "./operator-auth.js";
import { OPERATOR_ACTION_PATHS, operatorRoutes } from "./operator-routes.js";
import { CONNECT_API_PREFIX, orchestratorConnectApi } from "./orchestrator-connect-api.js";
import { gatewayMetrics } from "./http-metrics.js";
import { postSagaEndpoint } from "./post-saga-endpoint.js";
import { readQuery } from "./query-string.js";
import { readSagaListQuery } from "./saga-list-query.js";
import type { SagaAccessCheck } from "./saga-access.js";
import { sagaJson } from "./saga-view.js";
import { traceHttpRequest, traceRestRequest } from "./rest-span.js";
import { tracingSwitch } from "#platform/tracing/tracing-switch.js";

export interface GatewayOptions {
  /** How long `POST /saga` waits for the outcome before it answers 202 (default 10 s). */
  readonly waitMs?: number;
  /** Largest accepted body (default 64 KiB, counted once decoded); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** Seconds a client is told to wait after a 429. */
  readonly retryAfterSeconds?: number;
  /** Where a 5xx's cause is logged (it is never sent to the client). */
  readonly log?: Logger;
  /** Checks who may start sagas before `POST /saga` reads its body (API keys and their rate limit: `saga-access.ts`). */
  readonly sagaAccess?: SagaAccessCheck;
  /** Who may use the console's API and the operator actions (default: loopback clients only, gateway/operator-auth.ts). */
  readonly operatorAuth?: OperatorAuthenticator;
}

/** The gateway's endpoints and the methods each takes (HEAD comes with GET). */
const ENDPOINTS: ReadonlyArray<readonly [path: string, methods: readonly string[]]> = [
  ["/saga", ["POST"]],
  ["/saga/:id", ["GET", "HEAD"]],
  ["/sagas", ["GET", "HEAD"]],
  ["/healthz", ["GET", "HEAD"]],
  ["/readyz", ["GET", "HEAD"]],
  ...OPERATOR_ACTION_PATHS.map((path) => [path, ["POST"]] as const),
  ...CONSOLE_PATHS.map((path) => [path, ["GET", "HEAD"]] as const),
];

/**
 * The REST gateway: `POST /saga` (seed-compatible), `GET /saga/:id`, `GET /sagas`,
 * `/healthz`, `/readyz`; and for operators the REST actions, the Connect API under `/api` and
 * the console (gateway/operator-routes.ts, gateway/orchestrator-connect-api.ts, gateway/console-assets.ts). Every input that is not one of these, well formed, gets a 4xx whose
 * JSON body names the fault, before anything is started. It returns the gateway's request
 * listener, not yet listening: `POST /saga`, the hot path, is served without Express
 * (gateway/post-saga-endpoint.ts), every other request by the Express app.
 */
export function createApp(orchestrator: Client<typeof OrchestratorService>, health: Client<typeof Health>, options: GatewayOptions = {}) {
  const waitMs = options.waitMs ?? 10_000;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // Queries are read strictly by each endpoint (readQuery), never by Express's lenient parser.
  app.set("query parser", false);
  // A span per request when the gateway traces (docs/operations.md#traces).
  if (tracingSwitch.on) app.use(traceRestRequest);
  // Prometheus metrics (unless METRICS=off): every request recorded, and GET /metrics.
  const metrics = gatewayMetrics();
  if (metrics) app.use(metrics.record);

  // POST /saga is served without Express (gateway/post-saga-endpoint.ts); Express routes to it
  // only the spellings of its path that the gateway's own dispatch (below) leaves to Express.
  const postSaga = postSagaEndpoint(orchestrator, {
    waitMs,
    maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    log: options.log,
    access: options.sagaAccess,
  });
  app.post("/saga", (req, res) => postSaga(req, res));

  app.get("/saga/:id", async (req, res) => {
    readQuery(req.originalUrl, []);
    const sagaId = checkId(String(req.params.id), "sagaId", MAX_KEY_LENGTH);
    const { saga } = await orchestrator.getSaga({ sagaId }, { timeoutMs: 5_000 });
    if (!saga) throw new Error("orchestrator answered without a saga");
    res.json(sagaJson(saga));
  });

  app.get("/sagas", async (req, res) => {
    const page = await orchestrator.listSagas(readSagaListQuery(req.originalUrl), { timeoutMs: 5_000 });
    res.json({ sagas: page.sagas.map(sagaJson), nextPageToken: page.nextPageToken || null });
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });

  app.get("/readyz", async (_req, res) => {
    try {
      const r = await health.check({ service: "" }, { timeoutMs: 1_000 });
      const ready = r.status === HealthCheckResponse_ServingStatus.SERVING;
      res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "orchestrator not serving" });
    } catch {
      res.status(503).json({ status: "orchestrator unreachable" });
    }
  });

  // The console's API (Connect), the REST operator actions and the console itself, behind the operator authentication
  // (after POST /saga, whose requests need not pass through them).
  const operatorAuth = options.operatorAuth ?? createOperatorAuthenticator({ apiKeys: ApiKeyRing.parse("OPERATOR_API_KEYS", "") });
  app.use(CONNECT_API_PREFIX, orchestratorConnectApi(orchestrator, operatorAuth));
  app.use(operatorRoutes(orchestrator, operatorAuth, options.maxBodyBytes ?? 64 * 1024));
  app.use(consoleRoutes({ log: options.log }));
  if (metrics) app.get("/metrics", metrics.serve);

  // A known path with a method it does not take: 405 with Allow (OPTIONS is answered with Allow alone).
  for (const [path, methods] of metrics ? [...ENDPOINTS, ["/metrics", ["GET", "HEAD"]] as const] : ENDPOINTS) {
    app.all(path, (req, res) => {
      res.setHeader("Allow", methods.join(", "));
      if (req.method === "OPTIONS") return void res.status(204).end();
      res.status(405).json({ error: `method: ${path} takes ${methods.join(", ")}, not ${req.method}` });
    });
  }

  app.use((_req, res) => {
    res.status(404).json({
      error:
        "not found: the gateway serves POST /saga, GET /saga/:id, GET /sagas, POST /sagas/:id/{retry,force-compensate,resolve}, /console, /api (Connect), /healthz, /readyz",
    });
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = httpErrorOf(err);
    if (status >= 500) options.log?.error({ err, method: req.method, url: req.originalUrl.slice(0, 200) }, "request failed");
    if (status === 429) res.setHeader("Retry-After", String(options.retryAfterSeconds ?? 1));
    if (res.headersSent) return void res.destroy();
    res.status(status).json(body);
  });

  // The plain spellings of POST /saga, recorded and traced here as the Express middleware above does for the rest.
  const servePostSaga = (req: IncomingMessage, res: ServerResponse): void => {
    metrics?.recordRoute(req, res, "/saga");
    postSaga(req, res);
  };
  const sagaRoute = (): string => "/saga";
  const tracePostSaga = (req: IncomingMessage, res: ServerResponse): void =>
    traceHttpRequest(req, res, "/saga", sagaRoute, () => servePostSaga(req, res));
  const answerPostSaga = tracingSwitch.on ? tracePostSaga : servePostSaga;
  return function gateway(req, res) {
    if (req.method === "POST" && isPlainSagaTarget(req.url!)) answerPostSaga(req, res);
    else app(req, res);
  } satisfies RequestListener;
}

/**
 * True for the request targets that are `/saga` whatever router reads them: `/saga` itself
 * and `/saga?…` (the endpoint refuses any query). The gateway serves those without Express;
 * any other spelling Express's router accepts for `/saga` (its case, a trailing slash…) still
 * reaches the same endpoint through Express.
 */
function isPlainSagaTarget(url: string): boolean {
  return url.startsWith("/saga") && (url.length === 5 || url.charCodeAt(5) === 0x3f);
}
