/**
 * The set-up the services' PostgreSQL tests share, so each suite states only what is its own
 * (its store, its handlers, its rows):
 * - a store contract suite opens its stores on one database for the file, emptied before each
 *   setup ({@link postgresDatabaseForTestFile});
 * - a replica suite runs several replicas of one service (each its own store and pool, behind its
 *   own gRPC server on port 0) on one database, as a scaled-out service does
 *   ({@link serviceReplicasOnOneDatabase}).
 * - a SQLite store's tests on a file ({@link sqliteFileForEachTest}).
 * They register the hooks that clean up after them: call them at the top of a test file (the
 * first two) or of a `describe` (the third).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import type pg from "pg";
import { afterAll, afterEach, beforeAll } from "vitest";
import { createServiceClient, type ServiceClient } from "./grpc-client.js";
import { serve, startGrpcServer, type GrpcServer, type ServiceHandlers } from "./grpc-server.js";
import { createLogger } from "./logger.js";
import { openPostgresPool } from "./postgres.js";
import { createTestDatabase, type TestDatabase } from "./postgres-test-database.js";

/** A store as the tests hold it: closing it ends its pool. */
interface ClosableStore {
  close(): unknown;
}

/** A database for one test file's stores. */
export interface PostgresDatabaseForTestFile {
  /**
   * Opens a store on its own pool of two connections, then empties `tables` (a comma-separated
   * list, as `TRUNCATE` takes it), so each setup starts from no rows whatever the tests before it wrote.
   */
  openEmptiedStore<Store>(open: (pool: pg.Pool) => Promise<Store>, tables: string): Promise<Store>;
}

/** Creates a database named `<prefix>_<random>` before the file's tests and drops it after them. */
export function postgresDatabaseForTestFile(prefix: string): PostgresDatabaseForTestFile {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(prefix);
  }, 30_000);
  afterAll(async () => {
    await database?.drop();
  });
  return {
    async openEmptiedStore(open, tables) {
      if (!database) throw new Error(`the ${prefix} test database is not created yet: open stores inside tests or hooks`);
      const pool = await openPostgresPool({ connectionString: database.url, maxConnections: 2 });
      const store = await open(pool);
      await pool.query(`TRUNCATE ${tables}`);
      return store;
    },
  };
}

/** How to run one replica of a service. */
export interface ServiceReplicasOptions<S extends DescService, Store extends ClosableStore> {
  readonly service: S;
  /** Prefix of the database's name (`<prefix>_<random>`). */
  readonly databasePrefix: string;
  /** Opens a replica's store on its own pool (four connections). */
  openStore(pool: pg.Pool): Promise<Store>;
  handlers(store: Store): ServiceHandlers<S>;
  /** Deadline of each call of the clients. */
  readonly clientTimeoutMs: number;
  /** How many replicas (default 2). */
  readonly count?: number;
}

/** Replicas of one service on one database, started before the file's tests. */
export interface ServiceReplicas<S extends DescService> {
  /** A client of replica `index` (0-based). */
  client(index: number): ServiceClient<S>;
  /** Runs `statements` in order on the replicas' database, on a connection of its own (e.g. to reset rows before each test). */
  runStatements(...statements: string[]): Promise<void>;
}

interface Replica<S extends DescService> {
  readonly store: ClosableStore;
  readonly server: GrpcServer;
  readonly client: ServiceClient<S>;
}

/**
 * Creates a database and starts `count` replicas of a service on it before the file's tests;
 * after them closes each replica's client, server and store, then drops the database. A start
 * that fails part-way closes what it had started and drops the database before failing.
 */
export function serviceReplicasOnOneDatabase<S extends DescService, Store extends ClosableStore>(
  options: ServiceReplicasOptions<S, Store>,
): ServiceReplicas<S> {
  let database: TestDatabase | undefined;
  const replicas: Replica<S>[] = [];

  async function startReplica(url: string): Promise<void> {
    const pool = await openPostgresPool({ connectionString: url, maxConnections: 4 });
    const store = await options.openStore(pool);
    const server = await startGrpcServer({
      services: [serve(options.service, options.handlers(store))],
      host: "127.0.0.1",
      port: 0,
      log: createLogger("test", "silent"),
    }).catch(async (err: unknown) => {
      await store.close();
      throw err;
    });
    replicas.push({ store, server, client: createServiceClient(options.service, server.url, { timeoutMs: options.clientTimeoutMs }) });
  }

  async function stop(): Promise<void> {
    for (const replica of replicas.splice(0)) {
      replica.client.close();
      await replica.server.close();
      await replica.store.close();
    }
    await database?.drop();
  }

  beforeAll(async () => {
    database = await createTestDatabase(options.databasePrefix);
    const url = database.url;
    const started = await Promise.allSettled(Array.from({ length: options.count ?? 2 }, () => startReplica(url)));
    const failed = started.find((result) => result.status === "rejected");
    if (failed) {
      await stop();
      throw failed.reason;
    }
  }, 60_000);
  afterAll(stop);

  return {
    client(index) {
      const replica = replicas[index];
      if (!replica) throw new Error(`no replica ${index}: ${replicas.length} are running`);
      return replica.client;
    },
    async runStatements(...statements) {
      if (!database) throw new Error(`the ${options.databasePrefix} database is not created yet`);
      const admin = await openPostgresPool({ connectionString: database.url, maxConnections: 1 });
      try {
        for (const statement of statements) await admin.query(statement);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * Paths of SQLite files for the tests of the enclosing `describe`: each call gives `<name>.db` in a
 * temporary directory of its own, removed with its files after each test.
 */
export function sqliteFileForEachTest(name: string): () => string {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return () => {
    const dir = mkdtempSync(join(tmpdir(), `${name}-`));
    dirs.push(dir);
    return join(dir, `${name}.db`);
  };
}
