import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { NODE_FLAGS, PROCESSES, type ProcessName } from "./processes.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface SystemOptions {
  /** Directory of every SQLite file. */
  readonly dataDir: string;
  /** Ports per process; 0 picks a free one. Defaults to each process's default port. */
  readonly ports?: Partial<Record<ProcessName, number>>;
  /** Extra environment for every process, and per process. */
  readonly env?: Record<string, string>;
  readonly envOf?: Partial<Record<ProcessName, Record<string, string>>>;
  /** Where each output line goes; default: stdout, prefixed with the process name. */
  readonly onLine?: (name: ProcessName, line: string) => void;
  /** Extra node flags (for example --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /** How long each process may take to become healthy (default 30 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Start only these processes (still in start order), for example the four services under
   * another orchestrator in `bench/rivals`; default: all six.
   */
  readonly only?: readonly ProcessName[];
}

export interface RunningSystem {
  /** URL of each started process (a process left out by `only` has none). */
  readonly urls: Readonly<Record<ProcessName, string>>;
  pid(name: ProcessName): number | undefined;
  /** Sends SIGKILL to one process and waits for it to die. */
  kill(name: ProcessName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts one process again on its port and waits until it is healthy. */
  restart(name: ProcessName): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL after a bound), gateway first. */
  stop(): Promise<void>;
  /** Called when a process exits without being asked to. */
  onUnexpectedExit?: (name: ProcessName, code: number | null, signal: NodeJS.Signals | null) => void;
}

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<void>;
  expectedExit: boolean;
}

/**
 * Starts the six processes, each its own OS process running `node --import tsx`, wires their
 * URLs together, and resolves once every health check passes (gRPC Health for the five gRPC
 * servers, `/readyz` for the gateway).
 * @throws when a process exits or is not healthy in time (everything started is stopped).
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const running = new Map<ProcessName, Running>();
  const urls = {} as Record<ProcessName, string>;
  const ports = {} as Record<ProcessName, number>;
  let system: RunningSystem;

  const envOf = (name: ProcessName, port: number): NodeJS.ProcessEnv => ({
    ...process.env,
    DATA_DIR: options.dataDir,
    ...options.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    CATALOG_URL: urls.catalog,
    PAYMENTS_URL: urls.payments,
    PURCHASES_URL: urls.purchases,
    INVENTORY_URL: urls.inventory,
    ORCHESTRATOR_URL: urls.orchestrator,
    ...options.envOf?.[name],
  });

  const launch = async (name: ProcessName): Promise<void> => {
    const spec = PROCESSES.find((p) => p.name === name)!;
    const port = ports[name] ?? options.ports?.[name] ?? spec.defaultPort;
    const child = spawn(process.execPath, [...NODE_FLAGS, ...(options.nodeFlags ?? []), "--import", "tsx", spec.entry], {
      cwd: ROOT,
      env: envOf(name, port),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const entry: Running = { child, url: "", expectedExit: false, exited: new Promise((r) => child.once("exit", () => r())) };
    running.set(name, entry);
    const print = options.onLine ?? ((n, line) => process.stdout.write(`[${n.padEnd(12)}] ${line}\n`));
    const listening = new Promise<string>((resolve, reject) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on("line", (line) => {
          print(name, line);
          if (line.includes("listening")) {
            try {
              const url = (JSON.parse(line) as { url?: string }).url;
              if (url) resolve(url);
            } catch {
              /* not a JSON line */
            }
          }
        });
      }
      child.once("exit", (code, signal) => {
        reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it was listening`));
        if (!entry.expectedExit) system?.onUnexpectedExit?.(name, code, signal);
      });
    });
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    const url = await withTimeout(listening, timeoutMs, `${name} did not start listening in ${timeoutMs} ms`);
    entry.url = url;
    urls[name] = url;
    ports[name] = Number(new URL(url).port);
    await withTimeout(healthy(name, url), timeoutMs, `${name} did not become healthy in ${timeoutMs} ms`);
  };

  const stopOne = async (name: ProcessName, signal: NodeJS.Signals): Promise<void> => {
    const r = running.get(name);
    if (!r || r.child.exitCode !== null || r.child.signalCode !== null) return;
    r.expectedExit = true;
    r.child.kill(signal);
    const forced = setTimeout(() => r.child.kill("SIGKILL"), 10_000);
    await r.exited;
    clearTimeout(forced);
  };

  system = {
    urls,
    pid: (name) => running.get(name)?.child.pid,
    kill: (name, signal = "SIGKILL") => stopOne(name, signal),
    restart: (name) => launch(name),
    async stop() {
      // A terminal's Ctrl-C reaches the children too: none of their exits is unexpected now.
      for (const r of running.values()) r.expectedExit = true;
      for (const p of [...PROCESSES].reverse()) await stopOne(p.name, "SIGTERM");
    },
  };
  try {
    for (const p of PROCESSES) if (!options.only || options.only.includes(p.name)) await launch(p.name);
  } catch (err) {
    await system.stop();
    throw err;
  }
  return system;
}

async function healthy(name: ProcessName, url: string): Promise<void> {
  for (;;) {
    try {
      if (name === "gateway") {
        if ((await fetch(`${url}/readyz`)).ok) return;
      } else {
        const client = createServiceClient(Health, url, { timeoutMs: 1_000 });
        try {
          if ((await client.check({ service: "" })).status === HealthCheckResponse_ServingStatus.SERVING) return;
        } finally {
          client.close();
        }
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}
