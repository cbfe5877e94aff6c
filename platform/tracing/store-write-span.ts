import { context, trace } from "@opentelemetry/api";
import { endSpanWhenSettled } from "./span-settle.js";

const tracer = trace.getTracer("tp-saga");

/**
 * Runs a store write (queued for the group commit, resolved once durable) under an INTERNAL
 * span `<store> write`, child of the active context: in a service, the handler's span. Call
 * only when tracing is on (`tracingSwitch`).
 */
export function traceStoreWrite<T>(store: string, write: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(`${store} write`, { attributes: { "db.system.name": "sqlite" } });
  return endSpanWhenSettled(span, context.with(trace.setSpan(context.active(), span), write));
}
