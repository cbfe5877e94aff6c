/**
 * The PostgreSQL side of `npm run bench -- --postgres`: which server (`DATABASE_URL`, or the local
 * server as user postgres), a fresh database per configuration (created, then dropped), and the
 * server's own processes, for PostgreSQL's CPU per saga.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { createDatabaseOnServer, withAdminClient, type TestDatabase } from "../platform/postgres-test-database.js";

/** The server the bench uses when `DATABASE_URL` is not set. */
export const DEFAULT_BENCH_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

/** The server's URL from `DATABASE_URL` (any database on it: the bench connects there to create its own). */
export function benchPostgresUrl(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env["DATABASE_URL"]?.trim() || DEFAULT_BENCH_POSTGRES_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error("DATABASE_URL is not a URL such as postgresql://postgres@127.0.0.1:5432/postgres (value not shown: it may hold a password)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql://, not ${url.protocol}//`);
  }
  return raw;
}

/** Where a URL points, for messages: host, port, database, user; never the password. */
export function describeServer(url: string): string {
  const u = new URL(url);
  return `PostgreSQL at ${u.hostname}:${u.port || "5432"} (user ${decodeURIComponent(u.username) || "(default)"}, database ${u.pathname.slice(1) || "(default)"})`;
}

/** What the bench says when the server does not answer. */
const unreachable = (url: string) => (reason: string) =>
  `the bench's --postgres needs ${describeServer(url)} (set DATABASE_URL to use another server): ${reason}`;

/** A database made for one configuration. */
export type BenchDatabase = TestDatabase;

/** Creates `tp_saga_bench_<label>_<random>` on the server of `adminUrl`. */
export async function createBenchDatabase(adminUrl: string, label: string): Promise<BenchDatabase> {
  return createDatabaseOnServer(adminUrl, `tp_saga_bench_${label}_${randomBytes(4).toString("hex")}`, unreachable(adminUrl));
}

/**
 * The pid of the server's postmaster, read from `postmaster.pid` in its data directory (`SHOW
 * data_directory`, superuser or pg_read_all_settings), or why it cannot be known from here (a
 * server on another machine, in a container, or a user not allowed to read the setting).
 */
export async function postmasterPid(adminUrl: string): Promise<number | string> {
  try {
    const dir = await withAdminClient(adminUrl, unreachable(adminUrl), async (c) =>
      String((await c.query("SHOW data_directory")).rows[0]?.["data_directory"] ?? ""),
    );
    const pid = Number(readFileSync(join(dir, "postmaster.pid"), "utf8").split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 0) return `no pid in ${join(dir, "postmaster.pid")}`;
    readFileSync(`/proc/${pid}/stat`, "utf8");
    return pid;
  } catch (err) {
    return `the server's processes cannot be read from this machine: ${(err as Error).message}`;
  }
}

/** Reads which backends serve a database, over one connection to the admin database opened once (so no session starts or ends inside a level). */
export interface BackendReader {
  /** Pids of the backends connected to `database` now. */
  backendsOf(database: string): Promise<number[]>;
  close(): Promise<void>;
}

export async function openBackendReader(adminUrl: string): Promise<BackendReader> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  return {
    backendsOf: async (database) =>
      (await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database])).rows.map((r) => r.pid),
    close: () => client.end(),
  };
}
