import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { OrchestratorService, Saga } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { checkId, MAX_KEY_LENGTH } from "#platform/field-rules.js";
import { HttpError } from "./http-errors.js";
import { declaresBody, isJsonContentType, readJsonBody } from "./json-body.js";
import type { OperatorAuthenticator } from "./operator-auth.js";
import { quote, readQuery } from "./query-string.js";
import { sagaJson } from "./saga-view.js";

/** The longest reason the orchestrator records (proto/saga/orchestrator/v1/orchestrator.proto). */
const MAX_REASON_LENGTH = 2000;

type OperatorCall = (
  orchestrator: Client<typeof OrchestratorService>,
  request: { sagaId: string; actor: string; reason: string },
) => Promise<{ saga?: Saga }>;

/** The REST operator actions: path suffix → the orchestrator's RPC. */
const ACTIONS: Readonly<Record<string, OperatorCall>> = {
  retry: (orchestrator, request) => orchestrator.retrySaga(request, { timeoutMs: 5_000 }),
  "force-compensate": (orchestrator, request) => orchestrator.forceCompensateSaga(request, { timeoutMs: 5_000 }),
  resolve: (orchestrator, request) => orchestrator.resolveSaga(request, { timeoutMs: 5_000 }),
};

/** The paths of the operator actions, for the gateway's 405 table. */
export const OPERATOR_ACTION_PATHS: readonly string[] = Object.keys(ACTIONS).map((action) => `/sagas/:id/${action}`);

/** Reads `{"reason": "…"}`, nothing else: a missing or empty reason, any other field (an `actor` above all), is a 400 naming it. */
export function readReasonBody(body: unknown): string {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, 'body: must be a JSON object {"reason": "…"}');
  for (const field of Object.keys(body)) {
    if (field === "actor") throw new HttpError(400, "actor: not a body field; the actor is the authenticated operator");
    if (field !== "reason") throw new HttpError(400, `body: unknown field ${quote(field)} (an operator action takes only "reason")`);
  }
  const reason = (body as { reason?: unknown }).reason;
  if (reason === undefined) throw new HttpError(400, "reason: required (why the operator acts, recorded in the saga's history)");
  if (typeof reason !== "string") throw new HttpError(400, "reason: must be a string");
  if (reason.trim() === "") throw new HttpError(400, "reason: must not be empty");
  if (reason.length > MAX_REASON_LENGTH) throw new HttpError(400, `reason: longer than ${MAX_REASON_LENGTH} characters`);
  return reason;
}

/**
 * `POST /sagas/:id/retry`, `/force-compensate` and `/resolve` with `{"reason": "…"}`: the
 * operator actions over REST, behind the operator authentication (401 without a credential,
 * 403 with a wrong one, with `WWW-Authenticate: Bearer`). The actor recorded is the
 * authenticated operator. Answers 200 with the saga as `GET /saga/:id` shows it; 400 naming the
 * field at fault; 404 unknown saga; 409 when the saga's status does not allow the action
 * (the orchestrator's FAILED_PRECONDITION: the request was well formed, the saga is in the way);
 * 415 a body that is not JSON.
 */
export function operatorRoutes(orchestrator: Client<typeof OrchestratorService>, auth: OperatorAuthenticator, maxBodyBytes: number): Router {
  const router = express.Router();
  for (const [action, call] of Object.entries(ACTIONS)) {
    router.post(
      `/sagas/:id/${action}`,
      async (req: Request, res: Response, next: NextFunction) => {
        readQuery(req.originalUrl, []);
        const result = await auth.authenticate({
          authorization: req.headers.authorization,
          remoteAddress: req.socket.remoteAddress,
          host: req.headers.host,
        });
        if (!result.ok) {
          if (result.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="tp-saga operator"');
          throw new HttpError(result.status, result.message);
        }
        res.locals.principal = result.principal;
        if (!declaresBody(req.headers)) return next();
        if (!isJsonContentType(req.headers["content-type"])) throw new HttpError(415, 'Content-Type must be application/json (body {"reason": "…"})');
        req.body = await readJsonBody(req, maxBodyBytes);
        next();
      },
      async (req: Request, res: Response) => {
        const sagaId = checkId(String(req.params.id), "sagaId", MAX_KEY_LENGTH);
        const reason = readReasonBody(req.body ?? {});
        try {
          const { saga } = await call(orchestrator, { sagaId, actor: String(res.locals.principal), reason });
          if (!saga) throw new Error("orchestrator answered without a saga");
          res.json(sagaJson(saga));
        } catch (err) {
          if (err instanceof ConnectError && err.code === Code.FailedPrecondition) throw new HttpError(409, err.rawMessage);
          throw err;
        }
      },
    );
  }
  return router;
}
