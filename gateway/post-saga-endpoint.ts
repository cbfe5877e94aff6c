import type { IncomingMessage, ServerResponse } from "node:http";
import type { Client } from "@connectrpc/connect";
import type { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { checkId, MAX_KEY_LENGTH } from "#platform/field-rules.js";
import type { Logger } from "#platform/logger.js";
import { HttpError, httpErrorOf } from "./http-errors.js";
import { answerJson } from "./json-answer.js";
import { declaresBody, isJsonContentType, readJsonBody } from "./json-body.js";
import { DEFAULT_ORDER, parseOrderBody } from "./order-body.js";
import { readQuery } from "./query-string.js";
import type { SagaAccessCheck } from "./saga-access.js";
import { sagaOutcome } from "./saga-view.js";

export interface PostSagaOptions {
  /** How long the endpoint waits for the outcome before it answers 202. */
  readonly waitMs: number;
  /** Largest accepted body, once decoded; larger ones get 413. */
  readonly maxBodyBytes: number;
  /** Seconds a client is told to wait after a 429 from the orchestrator. */
  readonly retryAfterSeconds: number;
  /** Where a 5xx's cause is logged (it is never sent to the client). */
  readonly log?: Logger;
  /** Who may start sagas (API keys and their rate limit), checked before anything else. */
  readonly access?: SagaAccessCheck;
}

/**
 * `POST /saga` on Node's own request and response, without Express's router, body parser
 * and response helpers (the gateway's hot path): the access check, no query string, the
 * body (none: the seed's default order; otherwise JSON, gateway/json-body.ts), the
 * `Idempotency-Key`, then the orchestrator's `StartSaga`, answered as the seed did
 * (gateway/saga-view.ts). Every failure is answered as the gateway's error handler answers
 * it (gateway/http-errors.ts): the same status and JSON body, `Retry-After` on a 429, the
 * cause of a 5xx logged. It neither records metrics nor traces: its caller does (gateway/app.ts).
 */
export function postSagaEndpoint(orchestrator: Client<typeof OrchestratorService>, options: PostSagaOptions) {
  const { waitMs, maxBodyBytes, access, log } = options;
  const callOptions = { timeoutMs: waitMs + 5_000 };

  async function startSaga(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refusal = access?.(req.headers);
    if (refusal) return answerJson(res, refusal.status, { error: refusal.error }, refusal.headers);
    readQuery(req.url!, []);
    let body: unknown;
    if (declaresBody(req.headers)) {
      if (!isJsonContentType(req.headers["content-type"])) throw new HttpError(415, "Content-Type must be application/json");
      body = await readJsonBody(req, maxBodyBytes);
    }
    // Node joins a repeated Idempotency-Key into one value ("a, b"), which is then no key.
    const key = req.headers["idempotency-key"] as string | undefined;
    if (key !== undefined) checkId(key, "Idempotency-Key", MAX_KEY_LENGTH);
    const order = body === undefined ? DEFAULT_ORDER : parseOrderBody(body);
    const { saga } = await orchestrator.startSaga({ idempotencyKey: key ?? "", order, waitMs }, callOptions);
    if (!saga) throw new Error("orchestrator answered without a saga");
    const outcome = sagaOutcome(saga);
    const location = outcome.status === 202 ? ["Location", `/saga/${encodeURIComponent(saga.sagaId)}`] : undefined;
    answerJson(res, outcome.status, outcome.body, location);
  }

  function answerError(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    const { status, body } = httpErrorOf(err);
    if (status >= 500) log?.error({ err, method: req.method, url: req.url!.slice(0, 200) }, "request failed");
    if (res.headersSent) return void res.destroy();
    answerJson(res, status, body, status === 429 ? ["Retry-After", String(options.retryAfterSeconds)] : undefined);
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    startSaga(req, res).catch((err: unknown) => answerError(err, req, res));
  };
}
