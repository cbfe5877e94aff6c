import { integer, oneOf, readEnv, text } from "./config.js";

/** The port of each gRPC process's /metrics server when METRICS_PORT is not set. The gateway serves /metrics on its own port. */
export const DEFAULT_METRICS_PORTS: Readonly<Record<string, number>> = Object.freeze({
  orchestrator: 9000,
  catalog: 9001,
  payments: 9002,
  purchases: 9003,
  inventory: 9004,
});

/** How a process serves its metrics. */
export interface MetricsConfig {
  /** `METRICS` (on | off, default on): off records nothing and serves no /metrics. */
  readonly enabled: boolean;
  /** `HOST`, as the process's own server. */
  readonly host: string;
  /** `METRICS_PORT` (0 = any free port), for a process with a metrics server of its own; undefined for the gateway. */
  readonly port: number | undefined;
}

/**
 * Reads `METRICS`, `METRICS_PORT` and `HOST` for process `name`. `METRICS_PORT` defaults to the
 * process's port in {@link DEFAULT_METRICS_PORTS}, or to 0 (any free port) when `PORT` is 0.
 * @throws ConfigError naming every bad variable.
 */
export function readMetricsConfig(name: string, env: Record<string, string | undefined> = process.env): MetricsConfig {
  const defaultPort = DEFAULT_METRICS_PORTS[name];
  // A process asked for any free gRPC port (PORT=0: tests, side-by-side copies) takes any free
  // metrics port too, so that two of them never fight over 9000–9004.
  const anyPort = env.PORT?.trim() === "0";
  const raw = readEnv(
    {
      HOST: text("127.0.0.1"),
      METRICS: oneOf<"on" | "off">("on", ["on", "off"]),
      METRICS_PORT: integer(anyPort ? 0 : (defaultPort ?? 0), 0, 65535),
    },
    env,
  );
  return Object.freeze({ enabled: raw.METRICS === "on", host: raw.HOST, port: defaultPort === undefined ? undefined : raw.METRICS_PORT });
}
