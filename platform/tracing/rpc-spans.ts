import { context, propagation, SpanKind, SpanStatusCode, trace, type TextMapGetter } from "@opentelemetry/api";
import type { DescMethod } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import { endSpanWhenSettled, type SpanEnding } from "./span-settle.js";

/** The W3C headers of one call (`traceparent`, `tracestate`, `baggage`): gRPC metadata, or an Exchange call's `trace_context`. */
export type TraceCarrier = Record<string, string>;

const tracer = trace.getTracer("tp-saga");

function rpcAttributes(method: DescMethod) {
  return { "rpc.system": "grpc", "rpc.service": method.parent.typeName, "rpc.method": method.name };
}

/** Ends `span` with the gRPC status code of the call (0 when it succeeded); any code but OK marks it an error. */
const endRpcSpan: SpanEnding = (span, failed, error) => {
  if (!failed) {
    span.setAttribute("rpc.grpc.status_code", 0);
  } else {
    const connectError = ConnectError.from(error);
    span.setAttribute("rpc.grpc.status_code", connectError.code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: connectError.rawMessage });
  }
  span.end();
};

/**
 * Runs one outgoing call under a CLIENT span named `<service>/<method>`, child of the active
 * context: `send` gets the span's W3C headers to put on the wire (metadata, or the Exchange
 * call's `trace_context`). Call only when tracing is on.
 */
export function traceClientCall<T>(method: DescMethod, send: (carrier: TraceCarrier) => Promise<T>): Promise<T> {
  const span = tracer.startSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.CLIENT, attributes: rpcAttributes(method) });
  const callContext = trace.setSpan(context.active(), span);
  const carrier: TraceCarrier = {};
  propagation.inject(callContext, carrier);
  return endSpanWhenSettled(
    span,
    context.with(callContext, () => send(carrier)),
    endRpcSpan,
  );
}

/**
 * Runs one incoming call's handler under a SERVER span named `<service>/<method>`, child of
 * the trace context its caller sent (`carrier` read with `getter`: gRPC metadata or an Exchange
 * call's `trace_context`), with that context (baggage included) active while it runs and
 * while `settle` answers its outcome, so the handler's own spans and log lines, and those about
 * its answer, belong to the caller's trace. Call only when tracing is on.
 */
export function traceServerCall<C, T>(
  method: DescMethod,
  carrier: C,
  getter: TextMapGetter<C>,
  handle: () => T | Promise<T>,
  settle: (outcome: Promise<T>) => void,
): void {
  const remote = propagation.extract(context.active(), carrier, getter);
  const span = tracer.startSpan(`${method.parent.typeName}/${method.name}`, { kind: SpanKind.SERVER, attributes: rpcAttributes(method) }, remote);
  context.with(trace.setSpan(remote, span), () => settle(endSpanWhenSettled(span, Promise.resolve().then(handle), endRpcSpan)));
}

/** Reads W3C headers from a plain object: an Exchange call's `trace_context`. */
export const objectGetter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};
