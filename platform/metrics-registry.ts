import { collectDefaultMetrics, Registry } from "prom-client";

/**
 * The process's one Prometheus registry, and whether it records at all. Every recorder
 * (calls, store commits, sagas, HTTP requests) asks {@link metricsEnabled} once, when it is
 * created; with metrics off it gets nothing and the hot path pays one `undefined` check.
 */
export const metricsRegistry = new Registry();

let enabled = true;
let defaultMetricsOn = false;

/** Whether recorders created from now on record (true unless {@link turnMetricsOff} was called). */
export function metricsEnabled(): boolean {
  return enabled;
}

/** `METRICS=off`: recorders created after this record nothing; call it before anything is built. */
export function turnMetricsOff(): void {
  enabled = false;
}

/** Node's own process metrics (CPU, memory, event-loop lag, GC, handles) in the registry; once per process. */
export function collectProcessMetrics(): void {
  if (defaultMetricsOn || !enabled) return;
  defaultMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry });
}
