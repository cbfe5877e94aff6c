import { readMetricsConfig, type MetricsConfig } from "./metrics-config.js";
import { collectProcessMetrics, turnMetricsOff } from "./metrics-registry.js";
import { startMetricsServer, type MetricsServer } from "./metrics-server.js";

/**
 * Reads the metrics settings of process `name` and applies them before anything records:
 * `METRICS=off` turns every recorder off, otherwise Node's process metrics are collected.
 * @throws ConfigError naming a bad METRICS or METRICS_PORT.
 */
export function prepareProcessMetrics(name: string): MetricsConfig {
  const config = readMetricsConfig(name);
  if (config.enabled) collectProcessMetrics();
  else turnMetricsOff();
  return config;
}

/**
 * Starts the /metrics server of a process that has a metrics port; none when metrics are off
 * or the process serves /metrics on its own port (the gateway).
 * @throws Error naming the metrics port when it cannot be bound.
 */
export async function serveProcessMetrics(config: MetricsConfig): Promise<MetricsServer | undefined> {
  if (!config.enabled || config.port === undefined) return undefined;
  try {
    return await startMetricsServer({ host: config.host, port: config.port });
  } catch (err) {
    throw new Error(`metrics server on ${config.host}:${config.port} (METRICS_PORT): ${(err as Error).message}`, { cause: err });
  }
}
