import { createDemoMode, type DemoMode } from "./demo-mode.js";
import { startGrpcServer, type ServiceBinding } from "./grpc-server.js";
import { createLogger, logListening, type Logger } from "./logger.js";
import { readServiceConfig, type ServiceConfig } from "./service-config.js";
import { onShutdown } from "./shutdown.js";
import { openDatabase, type SqliteDatabase } from "./sqlite.js";

/** What a service's composition root gets: its configuration, logger, database and demo mode. */
export interface ServiceParts {
  readonly config: ServiceConfig;
  readonly log: Logger;
  readonly db: SqliteDatabase;
  readonly demo: DemoMode;
}

/** What a service's composition root returns: its handlers, how to close its store, and what to log at start. */
export interface ComposedService {
  readonly binding: ServiceBinding;
  close(): void;
  readonly startFields?: Record<string, unknown>;
}

/**
 * The life of one service process, the same for the four: config → logger → database →
 * `compose` (store and its schema or migration, domain, handlers) → gRPC server → "listening";
 * on SIGTERM or SIGINT the server drains (bounded), then the store commits what is queued and
 * closes. A `compose` that throws stops the process (exit 1) with its message logged.
 */
export async function runService(name: string, defaultPort: number, compose: (parts: ServiceParts) => ComposedService): Promise<void> {
  const config = readServiceConfig(name, defaultPort);
  const log = createLogger(name, config.logLevel);
  const db = openDatabase(config.databasePath, config.durability);
  let service: ComposedService;
  try {
    service = compose({ config, log, db, demo: createDemoMode(config.demo) });
  } catch (err) {
    // A database this build cannot use (a newer schema, a failed migration) stops the process
    // with one log line that names the file, before anything listens.
    log.fatal({ err }, `cannot start: ${(err as Error).message}`);
    db.close();
    process.exit(1);
  }
  const server = await startGrpcServer({ services: [service.binding], host: config.host, port: config.port, log });
  logListening(log, { url: server.url, database: config.databasePath, durability: config.durability, ...service.startFields });
  onShutdown(log, async () => {
    await server.close();
    service.close();
  });
}
