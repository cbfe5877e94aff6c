import { context, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("tp-saga");

/**
 * Runs a store write (queued for the group commit, resolved once durable) under an INTERNAL
 * span `<store> write`, child of the active context: in a service, the handler's span. Call
 * only when tracing is on (`tracingSwitch`).
 */
export function traceStoreWrite<T>(store: string, write: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(`${store} write`, { attributes: { "db.system.name": "sqlite" } });
  return context.with(trace.setSpan(context.active(), span), write).then(
    (value) => {
      span.end();
      return value;
    },
    (error: unknown) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.end();
      throw error;
    },
  );
}
