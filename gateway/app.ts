import express, { type NextFunction, type Request, type Response } from "express";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { HttpError, httpErrorOf } from "./http-errors.js";
import { DEFAULT_ORDER, parseOrderBody } from "./order-body.js";
import { sagaJson, sagaOutcome } from "./saga-view.js";

export interface GatewayOptions {
  /** How long `POST /saga` waits for the outcome before it answers 202 (default 10 s). */
  readonly waitMs?: number;
  /** Largest accepted body (default 64 KiB); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** Seconds a client is told to wait after a 429. */
  readonly retryAfterSeconds?: number;
}

const MAX_KEY_LENGTH = 200;
const PRINTABLE = /^[\x21-\x7e]+$/;

/**
 * The REST gateway: `POST /saga` (seed-compatible), `GET /saga/:id`, `GET /sagas`,
 * `/healthz`, `/readyz`. It returns an app that is not yet listening.
 */
export function createApp(orchestrator: Client<typeof OrchestratorService>, health: Client<typeof Health>, options: GatewayOptions = {}) {
  const waitMs = options.waitMs ?? 10_000;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  const json = express.json({ limit: options.maxBodyBytes ?? 64 * 1024, type: () => true });

  app.post("/saga", (req, res, next) => {
    const length = Number(req.headers["content-length"] ?? 0);
    const hasBody = length > 0 || req.headers["transfer-encoding"] !== undefined;
    if (!hasBody) return next();
    if (!req.is("application/json")) return next(new HttpError(415, "Content-Type must be application/json"));
    return json(req, res, next);
  }, async (req, res) => {
    const key = req.header("idempotency-key");
    if (key !== undefined && (key.length === 0 || key.length > MAX_KEY_LENGTH || !PRINTABLE.test(key))) {
      throw new HttpError(400, `Idempotency-Key: must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters without spaces`);
    }
    const order = req.body === undefined ? DEFAULT_ORDER : parseOrderBody(req.body);
    const { saga } = await orchestrator.startSaga(
      { idempotencyKey: key ?? "", order, waitMs },
      { timeoutMs: waitMs + 5_000 },
    );
    if (!saga) throw new Error("orchestrator answered without a saga");
    const outcome = sagaOutcome(saga);
    if (outcome.status === 202) res.location(`/saga/${encodeURIComponent(saga.sagaId)}`);
    res.status(outcome.status).json(outcome.body);
  });

  app.get("/saga/:id", async (req, res) => {
    const { saga } = await orchestrator.getSaga({ sagaId: String(req.params.id) }, { timeoutMs: 5_000 });
    if (!saga) throw new Error("orchestrator answered without a saga");
    res.json(sagaJson(saga));
  });

  app.get("/sagas", async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const statuses = (typeof q.status === "string" && q.status !== "" ? q.status.split(",") : []).map((name) => {
      const value = SagaStatus[name.trim().toUpperCase() as keyof typeof SagaStatus];
      if (typeof value !== "number" || value === SagaStatus.UNSPECIFIED) {
        throw new HttpError(400, `status: ${JSON.stringify(name)} is not one of RUNNING, COMPLETED, COMPENSATING, COMPENSATED, NEEDS_ATTENTION`);
      }
      return value;
    });
    const pageSize = q.pageSize === undefined ? 0 : Number(q.pageSize);
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > 1000) throw new HttpError(400, "pageSize: must be an integer from 0 to 1000");
    const pageToken = typeof q.pageToken === "string" ? q.pageToken : "";
    const instant = (name: "createdAfter" | "createdBefore") => {
      if (q[name] === undefined) return undefined;
      const ms = typeof q[name] === "string" ? Date.parse(q[name]) : NaN;
      if (Number.isNaN(ms)) throw new HttpError(400, `${name}: must be an ISO 8601 date-time, for example 2026-11-28T10:00:00Z`);
      return timestampFromMs(ms);
    };
    const page = await orchestrator.listSagas(
      { statuses, pageSize, pageToken, createdAfter: instant("createdAfter"), createdBefore: instant("createdBefore") },
      { timeoutMs: 5_000 },
    );
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

  app.use((_req, res) => {
    res.status(404).json({ error: "not found: the gateway serves POST /saga, GET /saga/:id, GET /sagas, /healthz, /readyz" });
  });

  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number };
    if (e.type === "entity.parse.failed") return void res.status(400).json({ error: "body: malformed JSON" });
    if (e.type === "entity.too.large") return void res.status(413).json({ error: "body: too large" });
    if (e.type === "encoding.unsupported" || e.type === "charset.unsupported") return void res.status(415).json({ error: "body: unsupported encoding" });
    const { status, body } = httpErrorOf(err);
    if (status === 429) res.setHeader("Retry-After", String(options.retryAfterSeconds ?? 1));
    res.status(status).json(body);
  });

  return app;
}
