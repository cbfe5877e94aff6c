/**
 * A private PostgreSQL server for one test: `initdb` in a temporary directory, `pg_ctl start` on
 * a free loopback port with trust authentication, and `halt`/`resume`/`restart`/`stop` that touch
 * only it (never the machine's server, which other tests use). Run as root, the server runs as the
 * `postgres` user, since PostgreSQL refuses to run as root. `pg_ctl` runs asynchronously, so the
 * test's own event loop (a runner, a pool) goes on while the server stops and starts. Test code only.
 */
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Where the PostgreSQL 15 programs are (Debian's layout), unless PG_BIN says otherwise. */
const PG_BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export interface PrivatePostgres {
  /** Admin connection string (user postgres, database postgres). */
  readonly adminUrl: string;
  readonly port: number;
  /** Stops the server (fast: a clean shutdown), keeping its data: clients find nobody until `resume`. */
  halt(): Promise<void>;
  /** Starts the halted server again on the same port; waits until it accepts connections. */
  resume(): Promise<void>;
  /** `halt`, then `resume`. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory (idempotent). */
  stop(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), "tp-saga-private-pg-"));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o700);
  }
  const command = (program: string, args: readonly string[]): [string, string[]] =>
    asRoot ? ["runuser", ["-u", "postgres", "--", join(PG_BIN, program), ...args]] : [join(PG_BIN, program), [...args]];
  const run = async (program: string, args: readonly string[]): Promise<void> => {
    const [file, argv] = command(program, args);
    await execFileAsync(file, argv, { timeout: 120_000 });
  };
  const port = await freePort();
  const data = join(dir, "data");
  const logFile = join(dir, "server.log");
  let stopped = false;
  await run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  // fsync off: a throwaway server; the restarts below are clean shutdowns, which lose nothing without it.
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=200`;
  const resume = (): Promise<void> => run("pg_ctl", ["-D", data, "-l", logFile, "-o", options, "-w", "-t", "60", "start"]);
  const halt = (): Promise<void> => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "60", "stop"]);
  await resume();
  return {
    adminUrl: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    halt,
    resume,
    async restart() {
      await halt();
      await resume();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "-t", "60", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A loopback port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
