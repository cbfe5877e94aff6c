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
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

async function withAdmin<T>(adminUrl: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    const where = new URL(adminUrl);
    where.password = "";
    throw new Error(`these tests need PostgreSQL at ${where.toString()} (set TEST_POSTGRES_URL to use another server): ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}
