/**
 * Starts DBOS beside TP-SAGA's services: a fresh PostgreSQL database
 * `tp_saga_rivals_dbos_<pid>` on 127.0.0.1:5432 as its system database (DBOS creates its schema
 * at launch), then the DBOS process serving `POST /saga`. Stopping drops the database.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startChild, waitForListening, type StartedChild } from "../child-process.js";
import { fetchOutcomes } from "../saga-outcome.js";
import { installedVersion } from "../package-version.js";
import type { EngineStartOptions, RivalEngine } from "../rival-engine.js";
import { DBOS_DEFAULT_POOL, type DbosTuning } from "../rival-tuning.js";
import {
  createDatabase,
  databaseUrl,
  dropDatabase,
  connectionsLeft,
  durabilitySettings,
  LOCAL_POSTGRES,
  postgresPids,
  type PostgresPids,
} from "./postgres-database.js";

const HERE = dirname(fileURLToPath(import.meta.url));

/** Creates the database, starts the DBOS process, and returns the engine. */
export async function startDbosEngine(options: EngineStartOptions & { readonly tuning: DbosTuning }): Promise<RivalEngine> {
  const server = LOCAL_POSTGRES;
  const { poolSize, nodeFlags } = options.tuning;
  const database = `tp_saga_rivals_dbos_${process.pid}`;
  const settings = await durabilitySettings(server);
  await dropDatabase(server, database);
  await createDatabase(server, database);
  options.log(`[dbos] created database ${database} on ${server.host}:${server.port} (PostgreSQL ${settings["server_version"]})`);
  const room = await connectionsLeft(server);
  const pool = poolSize ?? DBOS_DEFAULT_POOL;
  if (room < pool + 5) {
    options.log(
      `[dbos] WARNING: the server has ${room} connections left (max_connections ${settings["max_connections"]}); DBOS's pool of ${pool} may not get them all`,
    );
  }
  let child: StartedChild | undefined;
  let pids: PostgresPids | undefined;
  const stop = async (): Promise<void> => {
    await child?.stop(15_000);
    await pids?.close();
    await dropDatabase(server, database);
    options.log(`[dbos] dropped database ${database}`);
  };
  try {
    pids = await postgresPids(server);
    const started = startChild({
      name: "dbos",
      command: process.execPath,
      args: [...nodeFlags, "--import", "tsx", join(HERE, "dbos-main.ts")],
      cwd: join(HERE, ".."),
      env: {
        ...process.env,
        PORT: "0",
        DBOS_SYSTEM_DATABASE_URL: databaseUrl(server, database),
        ...(poolSize === undefined ? {} : { DBOS_SYSTEM_DATABASE_POOL_SIZE: String(poolSize) }),
        CATALOG_URL: options.services.catalog,
        PAYMENTS_URL: options.services.payments,
        PURCHASES_URL: options.services.purchases,
        INVENTORY_URL: options.services.inventory,
      },
      onLine: (name, line) => options.log(`  [dbos/${name}] ${line}`),
    });
    child = started;
    const listening = await waitForListening(started, 120_000);
    const url = listening["url"]!;
    options.log(`[dbos] POST ${url}/saga`);
    const reader = pids;
    return {
      name: "dbos",
      loadUrl: `${url}/saga`,
      versions: {
        "@dbos-inc/dbos-sdk": installedVersion("@dbos-inc/dbos-sdk"),
        pg: installedVersion("pg"),
        postgresql: settings["server_version"] ?? "?",
      },
      durability: [
        `PostgreSQL server settings as found (not changed): fsync=${settings["fsync"]}, synchronous_commit=${settings["synchronous_commit"]}, wal_sync_method=${settings["wal_sync_method"]}, full_page_writes=${settings["full_page_writes"]}, commit_delay=${settings["commit_delay"]}`,
        "every step's checkpoint is a committed, WAL-flushed transaction before the workflow goes on",
      ],
      settings: [
        `${options.tuning.tuning}: system-database pool ${poolSize === undefined ? `DBOS's default (${DBOS_DEFAULT_POOL})` : `systemDatabasePoolSize=${poolSize}`}`,
        `DBOS process node flags: ${nodeFlags.length ? nodeFlags.join(" ") : "none"}`,
      ],
      enginePids: async () => ({ dbos: [started.pid], "postgres backends": await reader.backendsOf(database) }),
      sharedPids: async () => ({ "postgres walwriter/checkpointer/bgwriter": await reader.shared() }),
      outcomes: () => fetchOutcomes(url),
      failure: () => started.unexpectedExit(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
