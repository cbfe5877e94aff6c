import { SpanStatusCode, type Span } from "@opentelemetry/api";

/** How a span is ended once its work settles: `failed` with the rejection's `error`, or not. */
export type SpanEnding = (span: Span, failed: boolean, error: unknown) => void;

/** Ends `span`; a failed one is marked ERROR with the error's message. */
export const endSpan: SpanEnding = (span, failed, error) => {
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  span.end();
};

/** Ends `span` (by `ending`) when `outcome` settles, and passes `outcome` on unchanged. */
export function endSpanWhenSettled<T>(span: Span, outcome: Promise<T>, ending: SpanEnding = endSpan): Promise<T> {
  return outcome.then(
    (value) => {
      ending(span, false, undefined);
      return value;
    },
    (error: unknown) => {
      ending(span, true, error);
      throw error;
    },
  );
}
