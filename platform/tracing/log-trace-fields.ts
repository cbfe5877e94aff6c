import { context, propagation, trace } from "@opentelemetry/api";

/** The baggage entry that carries a saga's id from the orchestrator to the services, with the trace context of each call. */
export const SAGA_ID_BAGGAGE = "saga.id";

/**
 * What a log line written now adds about the work it belongs to: `traceId` and `spanId` of the
 * active span, and `sagaId` from the baggage the caller sent (the orchestrator sets it on every
 * step call). A pino mixin (platform/logger.ts) when tracing is on; a new object each call, as
 * pino merges the line's own fields into it (the line's fields win).
 */
export function traceLogFields(): Record<string, string> {
  const active = context.active();
  const fields: Record<string, string> = {};
  const span = trace.getSpan(active);
  if (span) {
    const { traceId, spanId } = span.spanContext();
    fields.traceId = traceId;
    fields.spanId = spanId;
  }
  const sagaId = propagation.getBaggage(active)?.getEntry(SAGA_ID_BAGGAGE)?.value;
  if (sagaId !== undefined) fields.sagaId = sagaId;
  return fields;
}
