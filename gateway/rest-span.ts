import type { IncomingMessage, ServerResponse } from "node:http";
import type { NextFunction, Request, Response } from "express";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("tp-saga");

/**
 * Puts a request under a SERVER span `<METHOD> <route>`, child of the `traceparent` the
 * client sent (if any), the root of the trace of `POST /saga` otherwise, and runs `next` in
 * its context. The request is bound to the span's context, so the body reader's callbacks (run
 * by the request's stream events), and the gRPC calls the handler makes after them, stay in the
 * trace; the response is not (binding wraps every listener added to it, and nothing after the
 * answer needs the context). `routeOf` names the route once the request is answered (undefined:
 * none matched). Used only when the gateway traces (gateway/app.ts).
 */
export function traceHttpRequest(req: IncomingMessage, res: ServerResponse, path: string, routeOf: () => string | undefined, next: () => void): void {
  const method = req.method!;
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "url.path": path } }, parent);
  const requestContext = trace.setSpan(parent, span);
  context.bind(requestContext, req);
  let ended = false;
  const end = (aborted: boolean): void => {
    if (ended) return;
    ended = true;
    const route = routeOf();
    if (route !== undefined) {
      span.updateName(`${method} ${route}`);
      span.setAttribute("http.route", route);
    }
    span.setAttribute("http.response.status_code", res.statusCode);
    if (aborted) span.setStatus({ code: SpanStatusCode.ERROR, message: "the connection closed before the response was sent" });
    else if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  res.once("finish", () => end(false));
  res.once("close", () => end(!res.writableFinished));
  context.with(requestContext, next);
}

/** {@link traceHttpRequest} as Express middleware, named by the route Express matched. */
export function traceRestRequest(req: Request, res: Response, next: NextFunction): void {
  traceHttpRequest(req, res, req.path, () => (req.route as { path?: string } | undefined)?.path, next);
}
