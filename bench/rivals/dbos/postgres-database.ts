/**
 * The PostgreSQL side of the DBOS rival: a fresh database per run on 127.0.0.1:5432 (created,
 * then dropped), the server's durability settings as they are (read, never changed), and the
 * pids of the server processes that work for it, for CPU per saga.
 */
import pg from "pg";

/** Where the server is: loopback only, trust auth (README of the task's machine). */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** A database that exists, to connect to for CREATE/DROP DATABASE. */
  readonly adminDatabase: string;
}

export const LOCAL_POSTGRES: PostgresServer = { host: "127.0.0.1", port: 5432, user: "postgres", adminDatabase: "test" };

/** A connection URL to `database` on `server`. */
export function databaseUrl(server: PostgresServer, database: string): string {
  return `postgresql://${encodeURIComponent(server.user)}@${server.host}:${server.port}/${database}`;
}

async function withClient<T>(server: PostgresServer, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.adminDatabase });
  await client.connect();
  try {
    return await f(client);
  } finally {
    await client.end();
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** Creates the empty database `name` (a plain lowercase identifier). */
export async function createDatabase(server: PostgresServer, name: string): Promise<void> {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withClient(server, (c) => c.query(`CREATE DATABASE ${name}`));
}

/** Drops `name`, ending its sessions (PostgreSQL ≥ 13). */
export async function dropDatabase(server: PostgresServer, name: string): Promise<void> {
  if (!IDENTIFIER.test(name)) throw new Error(`not a plain database name: ${name}`);
  await withClient(server, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** The server's version and the settings that decide what a commit survives. */
export async function durabilitySettings(server: PostgresServer): Promise<Record<string, string>> {
  return withClient(server, async (c) => {
    const out: Record<string, string> = {};
    for (const name of [
      "server_version",
      "fsync",
      "synchronous_commit",
      "wal_sync_method",
      "full_page_writes",
      "commit_delay",
      "wal_level",
      "max_connections",
    ]) {
      out[name] = String((await c.query(`SHOW ${name}`)).rows[0]?.[name] ?? "?");
    }
    return out;
  });
}

/** Connections the server can still accept (max_connections less the sessions open now, less the superuser reserve). */
export async function connectionsLeft(server: PostgresServer): Promise<number> {
  return withClient(server, async (c) => {
    const r = await c.query<{ left: number }>(
      "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend') AS left",
    );
    return r.rows[0]?.left ?? 0;
  });
}

/** A reusable reader of server pids (one connection, to the admin database, so it is not counted). */
export interface PostgresPids {
  /** Backends connected to `database`. */
  backendsOf(database: string): Promise<number[]>;
  /** The server's shared background processes (walwriter, checkpointer, background writer), which serve every database. */
  shared(): Promise<number[]>;
  close(): Promise<void>;
}

export async function postgresPids(server: PostgresServer): Promise<PostgresPids> {
  const client = new pg.Client({ host: server.host, port: server.port, user: server.user, database: server.adminDatabase });
  await client.connect();
  return {
    backendsOf: async (database) =>
      (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database])).rows.map(
        (r) => r.pid,
      ),
    shared: async () =>
      (
        await client.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer')",
        )
      ).rows.map((r) => r.pid),
    close: () => client.end(),
  };
}
