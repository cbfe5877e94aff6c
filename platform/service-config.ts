import { join } from "node:path";
import { decimal, integer, oneOf, postgresUrl, readEnv, text } from "./config.js";
import { DURABILITIES, type Durability } from "./sqlite.js";
import type { DemoModeOptions } from "./demo-mode.js";

/** What every service process reads from its environment. */
export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  /** SQLite file of this service: `${DATA_DIR}/${service}.db`, or ":memory:" when DATA_DIR is ":memory:". */
  readonly databasePath: string;
  /** PostgreSQL URL of this service's own database (`DATABASE_URL`); "" for the SQLite file. */
  readonly databaseUrl: string;
  /** With `databaseUrl`: how often health checks that the database answers (`STORE_PROBE_MS`). */
  readonly storeProbeMs: number;
  readonly durability: Durability;
  readonly logLevel: string;
  readonly demo: DemoModeOptions;
}

/**
 * Reads a service's configuration:
 * `HOST` (127.0.0.1), `PORT` (the service's default), `DATA_DIR` (./data), `DATABASE_URL` (absent:
 * the SQLite file under DATA_DIR), `STORE_PROBE_MS` (500), `DURABILITY`
 * (process | power), `LOG_LEVEL` (info), `DEMO_FAILURE_RATE` (0..1, default 0) and
 * `DEMO_LATENCY_MS` ("min-max", default "0-0").
 * @throws ConfigError listing every bad variable.
 */
export function readServiceConfig(service: string, defaultPort: number, env: Record<string, string | undefined> = process.env): ServiceConfig {
  const raw = readEnv(
    {
      HOST: text("127.0.0.1"),
      PORT: integer(defaultPort, 0, 65535),
      DATA_DIR: text("./data"),
      DATABASE_URL: postgresUrl(),
      STORE_PROBE_MS: integer(500, 50, 600_000),
      DURABILITY: oneOf<Durability>("process", DURABILITIES),
      LOG_LEVEL: oneOf("info", ["trace", "debug", "info", "warn", "error", "fatal", "silent"]),
      DEMO_FAILURE_RATE: decimal(0, 0, 1),
      DEMO_LATENCY_MS: {
        default: [0, 0] as const,
        describe: 'a range "min-max" in milliseconds, for example "200-1000"',
        parse: (s: string) => {
          const m = /^(\d+)-(\d+)$/.exec(s.trim());
          if (!m || Number(m[1]) > Number(m[2])) throw new Error();
          return [Number(m[1]), Number(m[2])] as const;
        },
      },
    },
    env,
  );
  return Object.freeze({
    host: raw.HOST,
    port: raw.PORT,
    databasePath: raw.DATA_DIR === ":memory:" ? ":memory:" : join(raw.DATA_DIR, `${service}.db`),
    databaseUrl: raw.DATABASE_URL,
    storeProbeMs: raw.STORE_PROBE_MS,
    durability: raw.DURABILITY,
    logLevel: raw.LOG_LEVEL,
    demo: { failureRate: raw.DEMO_FAILURE_RATE, minLatencyMs: raw.DEMO_LATENCY_MS[0], maxLatencyMs: raw.DEMO_LATENCY_MS[1] },
  });
}
