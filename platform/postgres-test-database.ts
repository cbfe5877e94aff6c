/**
 * A throwaway PostgreSQL database for one test file: created with a random name on the local
 * server and dropped afterwards, so test files never see each other's rows. When the server is
 * not there, creating one fails with a message saying what to start: PostgreSQL tests must fail,
 * not skip, where the server is missing (CI starts one).
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { readEnv, text } from "./config.js";

/** A database that exists until `drop()`. */
export interface TestDatabase {
  readonly name: string;
  /** Connection string of the database (no password: the local server trusts loopback). */
  readonly url: string;
  /** Drops the database, ending its sessions. Idempotent. */
  drop(): Promise<void>;
}

/** The server's admin connection: `TEST_POSTGRES_URL`, by default the local server as user postgres. */
export function testPostgresAdminUrl(): string {
  return readEnv({ TEST_POSTGRES_URL: text("postgresql://postgres@127.0.0.1:5432/postgres") }).TEST_POSTGRES_URL;
}

/**
 * Creates an empty database named `<prefix>_<random>`.
 * @throws Error saying that these tests need PostgreSQL, and where they looked, when it is not reachable.
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const adminUrl = testPostgresAdminUrl();
  return createDatabaseOnServer(adminUrl, `${prefix}_${randomBytes(6).toString("hex")}`, (reason) => {
    const where = new URL(adminUrl);
    where.password = "";
    return `these tests need PostgreSQL at ${where.toString()} (set TEST_POSTGRES_URL to use another server): ${reason}`;
  });
}

/**
 * Creates the empty database `name` on the server of `adminUrl`, for a run that drops it afterwards
 * (the tests', the bench's).
 * @param unreachable the message when the server does not answer, from the connection's error: the caller says what needs it and what to set.
 * @throws Error when `name` is not a plain lower-case identifier, changing nothing.
 */
export async function createDatabaseOnServer(adminUrl: string, name: string, unreachable: (reason: string) => string): Promise<TestDatabase> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withAdminClient(adminUrl, unreachable, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdminClient(adminUrl, unreachable, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * Runs `f` on a connection of its own to `adminUrl`, closed afterwards.
 * @throws Error with `unreachable`'s message (the connection's error as its cause) when it cannot connect within 5 s.
 */
export async function withAdminClient<T>(adminUrl: string, unreachable: (reason: string) => string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(unreachable((err as Error).message), { cause: err });
  }
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}
