import { pino, type Logger } from "pino";
import { traceLogFields } from "./tracing/log-trace-fields.js";
import { tracingSwitch } from "./tracing/tracing-switch.js";

export type { Logger };

/**
 * JSON-lines logger for one process. Every line carries `service`; callers add `sagaId`
 * with `log.child({ sagaId })` so one saga can be followed across processes. When the process
 * traces (made after `startTracing`), every line also carries the active `traceId` and
 * `spanId`, and the `sagaId` its caller sent as baggage (platform/tracing/log-trace-fields.ts).
 */
export function createLogger(service: string, level = "info"): Logger {
  return pino({ base: { service }, level, timestamp: pino.stdTimeFunctions.isoTime, mixin: tracingSwitch.on ? traceLogFields : undefined });
}

/**
 * Logs the "listening" line with the bound URL whatever the level: launchers read it to learn
 * the port (port 0 in tests), so it must appear even at LOG_LEVEL=warn.
 */
export function logListening(log: Logger, fields: { url: string } & Record<string, unknown>): void {
  log.child({}, { level: "info" }).info(fields, "listening");
}
