import type { NextFunction, Request, Response } from "express";
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("tp-saga");

/**
 * Express middleware that puts each request under a SERVER span `<METHOD> <route>`, child of
 * the `traceparent` the client sent (if any), the root of the trace of `POST /saga` otherwise.
 * The request is bound to the span's context, so the body parser's callbacks (run by the
 * request's stream events), and the gRPC calls the handler makes after them, stay in the
 * trace; the response is not (binding wraps every listener added to it, and nothing after the
 * answer needs the context). Installed only when the gateway traces (gateway/app.ts).
 */
export function traceRestRequest(req: Request, res: Response, next: NextFunction): void {
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(
    req.method,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "url.path": req.path } },
    parent,
  );
  const requestContext = trace.setSpan(parent, span);
  context.bind(requestContext, req);
  let ended = false;
  const end = (aborted: boolean): void => {
    if (ended) return;
    ended = true;
    const route = (req.route as { path?: string } | undefined)?.path;
    if (route !== undefined) {
      span.updateName(`${req.method} ${route}`);
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
