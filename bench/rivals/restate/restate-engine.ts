/**
 * Starts Restate beside TP-SAGA's services: restate-server 1.7 (the binary that ships in the
 * npm package @restatedev/restate-server-linux-x64) on a fresh temp base dir, bound to
 * 127.0.0.1, telemetry off; the SDK endpoint process; then registers the endpoint with the
 * admin API and waits until the ingress routes `OrderSaga/run`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { connect } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pollUntil, startChild, waitForListening, type StartedChild } from "../child-process.js";
import { fetchOutcomes } from "../saga-outcome.js";
import { installedVersion } from "../package-version.js";
import type { EngineStartOptions, RivalEngine } from "../rival-engine.js";
import type { RestateTuning } from "../rival-tuning.js";
import { RESTATE_SERVICE_NAME } from "./order-saga-service.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const RIVALS = join(HERE, "..");
const require = createRequire(import.meta.url);

/** Ports of restate-server (its defaults; the admin API at 9070 as documented). */
export interface RestatePorts {
  readonly ingress: number;
  readonly admin: number;
  readonly node: number;
}

export const DEFAULT_RESTATE_PORTS: RestatePorts = { ingress: 8080, admin: 9070, node: 5122 };

/** Path of the restate-server binary inside node_modules. @throws when the platform package is missing. */
export function restateServerBinary(): string {
  const pkg = require.resolve("@restatedev/restate-server-linux-x64/package.json");
  return join(dirname(pkg), "bin", "restate-server");
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The durability-relevant lines of restate-server's effective configuration. */
function durabilitySettings(binary: string, env: NodeJS.ProcessEnv): string[] {
  const config = execFileSync(binary, ["--dump-config"], { env, encoding: "utf8", timeout: 30_000 });
  const pick = (section: string, key: string): string => {
    let current = "";
    for (const line of config.split("\n")) {
      const header = /^\[(.+)\]$/.exec(line.trim());
      if (header) current = header[1]!;
      else if (current === section && line.startsWith(`${key} =`)) return line.trim();
    }
    return `${key} = (not in --dump-config)`;
  };
  return [
    `restate-server configuration (no config file${env["RESTATE_DEFAULT_NUM_PARTITIONS"] ? `, RESTATE_DEFAULT_NUM_PARTITIONS=${env["RESTATE_DEFAULT_NUM_PARTITIONS"]}` : ""}): ${pick("", "default-num-partitions")}, ${pick("", "default-replication")}, [bifrost] ${pick("bifrost", "default-provider")}`,
    `[log-server] ${pick("log-server", "rocksdb-disable-wal-fsync")} (the log is fsynced before an append is acknowledged), [bifrost.local] ${pick("bifrost.local", "rocksdb-disable-wal-fsync")}`,
    "one node, replication 1: a saga step is durable once it is in the local log-server's fsynced RocksDB WAL (power-loss safe on this one disk)",
  ];
}

/** Starts restate-server and the SDK endpoint, registers it, and returns the engine. */
export async function startRestateEngine(
  options: EngineStartOptions & { readonly ports?: RestatePorts; readonly tuning: RestateTuning },
): Promise<RivalEngine> {
  const ports = options.ports ?? DEFAULT_RESTATE_PORTS;
  const { partitions, nodeFlags } = options.tuning;
  for (const [role, port] of Object.entries(ports)) {
    if (await portInUse(port))
      throw new Error(`restate-server's ${role} port 127.0.0.1:${port} is already in use (another restate-server? pass other ports)`);
  }
  const baseDir = mkdtempSync(join(options.dataParent, "tp-saga-rivals-restate-"));
  const binary = restateServerBinary();
  const serverEnv: NodeJS.ProcessEnv = {
    ...process.env,
    RESTATE_DISABLE_TELEMETRY: "true",
    RESTATE_LOG_FILTER: "warn",
    RESTATE_LOG_FORMAT: "compact",
    RESTATE_LOG_DISABLE_ANSI_CODES: "true",
    RESTATE_INGRESS__BIND_PORT: String(ports.ingress),
    RESTATE_ADMIN__BIND_PORT: String(ports.admin),
    RESTATE_BIND_PORT: String(ports.node),
    ...(partitions === undefined ? {} : { RESTATE_DEFAULT_NUM_PARTITIONS: String(partitions) }),
  };
  const durability = durabilitySettings(binary, serverEnv);
  const onLine = (name: string, line: string): void => options.log(`  [restate/${name}] ${line}`);
  const children: StartedChild[] = [];
  const stop = async (): Promise<void> => {
    for (const c of [...children].reverse()) await c.stop(15_000);
    rmSync(baseDir, { recursive: true, force: true });
  };
  try {
    options.log(`[restate] starting restate-server ${installedVersion("@restatedev/restate-server")} (base dir ${baseDir})`);
    // restate-server 1.7.12 looks up api.github.com at start-up (a release check that no
    // setting turns off). Our rule is that nothing we run sends traffic off 127.0.0.1, so it runs
    // in a mount namespace of its own whose /etc/resolv.conf names 127.0.0.1 as the resolver:
    // the lookup fails locally (checked with strace: every connect and sendto goes to 127.0.0.1).
    const resolvConf = join(baseDir, "resolv.conf");
    writeFileSync(resolvConf, "nameserver 127.0.0.1\n");
    const server = startChild({
      name: "restate-server",
      command: "unshare",
      args: [
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        resolvConf,
        binary,
        ...["--no-logo", "--base-dir", baseDir, "--node-name", "rivals", "--bind-ip", "127.0.0.1", "--listen-mode", "tcp"],
      ],
      cwd: baseDir,
      env: serverEnv,
      onLine,
    });
    children.push(server);
    const admin = `http://127.0.0.1:${ports.admin}`;
    const ingress = `http://127.0.0.1:${ports.ingress}`;
    await pollUntil("restate-server admin API", 60_000, async () => (await fetch(`${admin}/health`, { signal: AbortSignal.timeout(2_000) })).ok);
    await pollUntil(
      "restate-server ingress",
      60_000,
      async () => (await fetch(`${ingress}/restate/health`, { signal: AbortSignal.timeout(2_000) })).ok,
    );

    const endpoint = startChild({
      name: "sdk-endpoint",
      command: process.execPath,
      args: [...nodeFlags, "--import", "tsx", join(HERE, "endpoint-main.ts")],
      cwd: RIVALS,
      env: {
        ...process.env,
        PORT: "0",
        OUTCOMES_PORT: "0",
        RESTATE_LOGGING: "ERROR",
        CATALOG_URL: options.services.catalog,
        PAYMENTS_URL: options.services.payments,
        PURCHASES_URL: options.services.purchases,
        INVENTORY_URL: options.services.inventory,
      },
      onLine,
    });
    children.push(endpoint);
    const listening = await waitForListening(endpoint, 60_000);
    const endpointUrl = listening["url"]!;
    const outcomesUrl = listening["outcomesUrl"]!;

    const registered = await fetch(`${admin}/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uri: endpointUrl }),
    });
    if (!registered.ok)
      throw new Error(`registering ${endpointUrl} with ${admin}/deployments answered ${registered.status}: ${await registered.text()}`);
    // An empty order is refused by the handler with 400 once the ingress routes to it (404 before); nothing is started.
    await pollUntil("OrderSaga at the ingress", 60_000, async () => {
      const res = await fetch(`${ingress}/${RESTATE_SERVICE_NAME}/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
        signal: AbortSignal.timeout(5_000),
      });
      await res.text();
      return res.status === 400;
    });
    options.log(`[restate] ingress ${ingress}, admin ${admin}, SDK endpoint ${endpointUrl} registered`);

    return {
      name: "restate",
      loadUrl: `${ingress}/${RESTATE_SERVICE_NAME}/run`,
      versions: {
        "restate-server": installedVersion("@restatedev/restate-server"),
        "@restatedev/restate-sdk": installedVersion("@restatedev/restate-sdk"),
        ...(listening["promiseWithResolversPolyfilled"] ? { "Promise.withResolvers": "polyfilled (Node 20 lacks it; the SDK needs it)" } : {}),
      },
      durability,
      settings: [
        `${options.tuning.tuning}: ${partitions === undefined ? "restate-server's default partitions (24)" : `RESTATE_DEFAULT_NUM_PARTITIONS=${partitions}`}`,
        `SDK endpoint node flags: ${nodeFlags.length ? nodeFlags.join(" ") : "none"}`,
        `ports: ingress ${ports.ingress}, admin ${ports.admin}, node ${ports.node}`,
      ],
      enginePids: async () => ({ "restate-server": [server.pid], "sdk-endpoint": [endpoint.pid] }),
      sharedPids: async () => ({}),
      outcomes: () => fetchOutcomes(outcomesUrl),
      failure: () => children.map((c) => c.unexpectedExit()).find((f) => f !== undefined),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
