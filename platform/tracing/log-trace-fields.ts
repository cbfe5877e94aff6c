import { context, propagation, trace } from "@opentelemetry/api";

/** The baggage entry that carries a saga's id from the orchestrator to the services, with the trace context of each call. */
export const SAGA_ID_BAGGAGE = "saga.id";

/** The trace id of a saga this process drives, if it has one (set by the orchestrator). */
let sagaTraceIdOf: (sagaId: string) => string | undefined = () => undefined;

/**
 * Tells the log lines which trace each saga driven here belongs to, so a line naming a saga
 * carries that saga's trace even when it is written outside the saga's spans (between two
 * steps of a resumed saga, or in an operator's call about it).
 */
export function setSagaTraceLookup(lookup: (sagaId: string) => string | undefined): void {
  sagaTraceIdOf = lookup;
}

/**
 * What a log line written now adds about the work it belongs to: `traceId` (of the saga the
 * line names, if this process knows its trace, or else of the active span) and `spanId` (of the
 * active span, when it is in that trace), and `sagaId` from the baggage the caller sent (the
 * orchestrator sets it on every step call). A pino mixin (platform/logger.ts) when tracing is
 * on; a new object each call, as pino merges the line's own fields into it (the line's win).
 */
export function traceLogFields(line: object = {}): Record<string, string> {
  const active = context.active();
  const fields: Record<string, string> = {};
  const named = (line as { sagaId?: unknown }).sagaId;
  const sagaTraceId = typeof named === "string" ? sagaTraceIdOf(named) : undefined;
  const span = trace.getSpan(active);
  const spanContext = span?.spanContext();
  if (sagaTraceId !== undefined) fields.traceId = sagaTraceId;
  else if (spanContext) fields.traceId = spanContext.traceId;
  if (spanContext && spanContext.traceId === fields.traceId) fields.spanId = spanContext.spanId;
  const sagaId = propagation.getBaggage(active)?.getEntry(SAGA_ID_BAGGAGE)?.value;
  if (sagaId !== undefined) fields.sagaId = sagaId;
  return fields;
}
