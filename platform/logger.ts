import { pino, type Logger } from "pino";

export type { Logger };

/**
 * JSON-lines logger for one process. Every line carries `service`; callers add `sagaId`
 * with `log.child({ sagaId })` so one saga can be followed across processes.
 */
export function createLogger(service: string, level = "info"): Logger {
  return pino({ base: { service }, level, timestamp: pino.stdTimeFunctions.isoTime });
}
