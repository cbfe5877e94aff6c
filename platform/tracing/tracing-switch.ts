/**
 * Whether this process traces. Off unless `startTracing` installed the OpenTelemetry SDK; every
 * tracing hook on a hot path reads this first, so a process that does not trace pays one
 * property read per call and parses no trace context.
 */
export const tracingSwitch: { on: boolean } = { on: false };
