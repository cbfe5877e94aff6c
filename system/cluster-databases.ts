/**
 * The PostgreSQL databases of a cluster: one per service (database per service still holds)
 * and one for the saga log that every orchestrator replica shares, created on first use.
 */
import pg from "pg";
import { describePostgresTarget, postgresTarget } from "#platform/postgres.js";
import { SERVICE_NAMES } from "./processes.js";

/** Who owns each database: the four services, and the orchestrators' shared saga log. */
export const CLUSTER_DATABASE_OWNERS = [...SERVICE_NAMES, "orchestrator"] as const;
export type ClusterDatabaseOwner = (typeof CLUSTER_DATABASE_OWNERS)[number];

/** The connection string of each owner's database. */
export type ClusterDatabases = Readonly<Record<ClusterDatabaseOwner, string>>;

/**
 * The database of each owner on the server of `adminUrl`: `<prefix>_<owner>` (the saga log is
 * `<prefix>_saga_log`), same user, host and options as `adminUrl`.
 */
export function clusterDatabaseUrls(adminUrl: string, prefix: string): ClusterDatabases {
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
    throw new Error(`the database prefix ${JSON.stringify(prefix)} must be lower-case letters, digits and _ (at most 41)`);
  const urlOf = (name: string): string => {
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
  return Object.fromEntries(
    CLUSTER_DATABASE_OWNERS.map((owner) => [owner, urlOf(`${prefix}_${owner === "orchestrator" ? "saga_log" : owner}`)]),
  ) as ClusterDatabases;
}

/**
 * Creates each database of `databases` that does not exist yet, over the admin connection
 * `adminUrl` (a user allowed to CREATE DATABASE). Existing ones are kept as they are: their
 * schemas are migrated by the processes themselves at start.
 * @returns the names of the databases created.
 * @throws Error naming the server (never the password) when it cannot be reached or refuses.
 */
export async function ensureClusterDatabases(adminUrl: string, databases: ClusterDatabases): Promise<string[]> {
  const where = describePostgresTarget(postgresTarget(adminUrl));
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL at ${where}: cannot connect to create the cluster's databases: ${(err as Error).message}`, { cause: err });
  }
  const created: string[] = [];
  try {
    for (const url of Object.values(databases)) {
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (found.rowCount !== 0) continue;
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
        created.push(name);
      } catch (err) {
        // 42P04: another launcher created it meanwhile.
        if ((err as { code?: string }).code !== "42P04")
          throw new Error(`PostgreSQL at ${where}: cannot create database ${name}: ${(err as Error).message}`, { cause: err });
      }
    }
  } finally {
    await client.end();
  }
  return created;
}

/** Drops every database of `databases` (ending their sessions); one that is gone already is skipped. */
export async function dropClusterDatabases(adminUrl: string, databases: ClusterDatabases): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    for (const url of Object.values(databases)) {
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(decodeURIComponent(new URL(url).pathname.slice(1)))} WITH (FORCE)`);
    }
  } finally {
    await client.end();
  }
}
