import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { DEFAULT_METRICS_PORTS } from "#platform/metrics-config.js";
import { buildCompiled, canCompile, DIST_DIR, type BuildReport } from "./compiled-build.js";
import { readLauncherSecurity, type LauncherSecurity } from "./launcher-security.js";
import { NODE_FLAGS, PROCESSES, type ProcessName } from "./processes.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

export interface SystemOptions {
  /** Directory of every SQLite file. */
  readonly dataDir: string;
  /** Ports per process; 0 picks a free one. Defaults to each process's default port. */
  readonly ports?: Partial<Record<ProcessName, number>>;
  /**
   * METRICS_PORT of each gRPC process (the gateway serves /metrics on its own port); 0 picks a
   * free one. Default: the process's default metrics port (9000–9004) when it runs on its
   * default port, else 0, so systems started side by side never share one.
   */
  readonly metricsPorts?: Partial<Record<Exclude<ProcessName, "gateway">, number>>;
  /** Extra environment for every process, and per process. */
  readonly env?: Record<string, string>;
  readonly envOf?: Partial<Record<ProcessName, Record<string, string>>>;
  /** Where each output line goes; default: stdout, prefixed with the process name. */
  readonly onLine?: (name: ProcessName, line: string) => void;
  /** Extra node flags (for example --cpu-prof). */
  readonly nodeFlags?: readonly string[];
  /**
   * How long each process may take to become healthy (default 60 s: the six start side by
   * side, so on a busy two-core machine each takes about as long as all of them).
   */
  readonly readyTimeoutMs?: number;
  /**
   * Start only these processes, for example the four services under another orchestrator in
   * `bench/rivals`; default: all six.
   */
  readonly only?: readonly ProcessName[];
  /**
   * What the processes run: `compiled` (default) JavaScript in `dist/`, brought up to date
   * first (`system/compiled-build.ts`), which starts a process on about half the CPU of tsx;
   * or `tsx`, the TypeScript sources as they are. Without TypeScript installed, `tsx`.
   */
  readonly runtime?: "compiled" | "tsx";
  /** With `compiled`: `dist/` was just brought up to date by the caller (a cluster builds once for all its replicas). */
  readonly compiledUpToDate?: boolean;
  /** Told what bringing `dist/` up to date did (with the `compiled` runtime). */
  readonly onCompiled?: (report: BuildReport) => void;
  /** Aborting it while the system starts stops every process started so far (Ctrl-C during start-up). */
  readonly signal?: AbortSignal;
}

export interface RunningSystem {
  /** URL of each started process (a process left out by `only` has none). */
  readonly urls: Readonly<Record<ProcessName, string>>;
  /** URL of each started process's /metrics, from its "listening" line (none with METRICS=off). */
  readonly metricsUrls: Readonly<Partial<Record<ProcessName, string>>>;
  pid(name: ProcessName): number | undefined;
  /** Sends SIGKILL to one process and waits for it to die. */
  kill(name: ProcessName, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts one process again on its port and waits until it is healthy.
   * @throws when it exits first or is not healthy in time, or when the system is stopping.
   */
  restart(name: ProcessName): Promise<void>;
  /** Stops every process (SIGTERM, then SIGKILL after a bound), gateway first. */
  stop(): Promise<void>;
  /** Called when a process exits without being asked to. */
  onUnexpectedExit?: (name: ProcessName, code: number | null, signal: NodeJS.Signals | null) => void;
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  expectedExit: boolean;
}

/**
 * Starts the processes, each its own OS process (compiled JavaScript, see `runtime`), wires their URLs
 * together, and resolves once every health check passes (gRPC Health for the five gRPC
 * servers, `/readyz` for the gateway). A process starts as soon as the URLs it needs are
 * known: with fixed ports (as `npm start` has) all six start at once, so start-up costs the
 * slowest process rather than the sum; a peer on port 0 is known once it is listening.
 * @throws when a process exits or is not healthy in time (everything started is stopped).
 */
export async function startSystem(options: SystemOptions): Promise<RunningSystem> {
  const running = new Map<ProcessName, Running>();
  const urls = {} as Record<ProcessName, string>;
  const ports = {} as Record<ProcessName, number>;
  const metricsUrls: Partial<Record<ProcessName, string>> = {};
  const metricsPorts: Partial<Record<ProcessName, number>> = {};
  const selected = PROCESSES.filter((p) => !options.only || options.only.includes(p.name));
  let stopping = false;
  const security = readLauncherSecurity({ ...process.env, ...options.env });
  const compiled = (options.runtime ?? "compiled") === "compiled" && canCompile();
  if (compiled && !options.compiledUpToDate) {
    // Not `onCompiled?.(await buildCompiled())`: an optional call skips its arguments when there is no callback.
    const report = await buildCompiled();
    options.onCompiled?.(report);
  }
  const argsOf = (entry: string): string[] => (compiled ? [join(DIST_DIR, entry.replace(/\.ts$/, ".js"))] : ["--import", "tsx", entry]);

  /** The METRICS_PORT of a process: the one it had before a restart, as asked, or its default (see `metricsPorts`). */
  const metricsPortOf = (name: ProcessName, port: number): Record<string, string> => {
    if (name === "gateway") return {};
    const defaultPort = PROCESSES.find((p) => p.name === name)!.defaultPort;
    const chosen = metricsPorts[name] ?? options.metricsPorts?.[name] ?? (port === defaultPort ? DEFAULT_METRICS_PORTS[name]! : 0);
    return { METRICS_PORT: String(chosen) };
  };

  const envOf = (name: ProcessName, port: number): NodeJS.ProcessEnv => {
    const peers: Record<string, string> = {};
    for (const [variable, peer] of [
      ["CATALOG_URL", "catalog"],
      ["PAYMENTS_URL", "payments"],
      ["PURCHASES_URL", "purchases"],
      ["INVENTORY_URL", "inventory"],
      ["ORCHESTRATOR_URL", "orchestrator"],
    ] as const) {
      if (urls[peer] !== undefined) peers[variable] = urls[peer];
    }
    return {
      ...process.env,
      DATA_DIR: options.dataDir,
      ...options.env,
      HOST: "127.0.0.1",
      PORT: String(port),
      ...metricsPortOf(name, port),
      ...peers,
      ...options.envOf?.[name],
    };
  };

  /**
   * Spawns one process; `listening` resolves with its URL, `healthy` once its health check
   * passes. Both reject if it exits first or takes longer than the bound.
   */
  const spawnOne = (name: ProcessName): { listening: Promise<string>; healthy: Promise<void> } => {
    if (stopping) {
      const refused = Promise.reject(new Error(`${name} not started: the system is stopping`));
      return { listening: refused, healthy: refused };
    }
    const spec = PROCESSES.find((p) => p.name === name)!;
    const port = ports[name] ?? options.ports?.[name] ?? spec.defaultPort;
    const child = spawn(process.execPath, [...NODE_FLAGS, ...(options.nodeFlags ?? []), ...argsOf(spec.entry)], {
      cwd: ROOT,
      env: envOf(name, port),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const entry: Running = { child, expectedExit: false, exited: new Promise((r) => child.once("exit", () => r())) };
    running.set(name, entry);
    const print = options.onLine ?? ((n, line) => process.stdout.write(`[${n.padEnd(12)}] ${line}\n`));
    const died = new Promise<never>((_, reject) => {
      child.once("exit", (code, signal) => {
        reject(new Error(`${name} exited (code ${code}, signal ${signal}) before it was healthy`));
        if (!entry.expectedExit) system?.onUnexpectedExit?.(name, code, signal);
      });
    });
    died.catch(() => {});
    const listening = new Promise<string>((resolve, reject) => {
      died.catch(reject);
      for (const stream of [child.stdout!, child.stderr!]) {
        createInterface({ input: stream }).on("line", (line) => {
          print(name, line);
          if (line.includes("listening")) {
            try {
              const { url, metrics } = JSON.parse(line) as { url?: string; metrics?: string };
              if (metrics) {
                metricsUrls[name] = metrics;
                if (name !== "gateway") metricsPorts[name] = Number(new URL(metrics).port);
              }
              if (url) resolve(url);
            } catch {
              /* not a JSON line */
            }
          }
        });
      }
    });
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const startedAt = Date.now();
    const listeningInTime = withTimeout(listening, timeoutMs, `${name} did not start listening in ${timeoutMs} ms`).then((url) => {
      urls[name] = url;
      ports[name] = Number(new URL(url).port);
      return url;
    });
    const healthyInTime = listeningInTime.then((url) => {
      const left = Math.max(1, timeoutMs - (Date.now() - startedAt));
      const polling = new AbortController();
      return withTimeout(
        Promise.race([healthy(name, url, security, polling.signal), died]),
        left,
        `${name} did not become healthy in ${timeoutMs} ms`,
      ).finally(() => polling.abort());
    });
    listeningInTime.catch(() => {});
    return { listening: listeningInTime, healthy: healthyInTime };
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

  const system: RunningSystem = {
    urls,
    metricsUrls,
    pid: (name) => running.get(name)?.child.pid,
    kill: (name, signal = "SIGKILL") => stopOne(name, signal),
    restart: (name) => spawnOne(name).healthy,
    async stop() {
      stopping = true;
      // A terminal's Ctrl-C reaches the children too: none of their exits is unexpected now.
      for (const r of running.values()) r.expectedExit = true;
      for (const p of [...PROCESSES].reverse()) await stopOne(p.name, "SIGTERM");
    },
  };

  // A URL is known up front for a fixed port, else once its process is listening.
  const known = new Map<ProcessName, Promise<unknown>>();
  for (const p of selected) {
    const port = options.ports?.[p.name] ?? p.defaultPort;
    if (port !== 0) {
      ports[p.name] = port;
      urls[p.name] = `${security.schemeOf(p.name)}://127.0.0.1:${port}`;
    }
  }
  const started = new Map<ProcessName, Promise<void>>();
  const startInOrder = (p: (typeof selected)[number]): Promise<void> => {
    const needed = p.needs.filter((n) => urls[n] === undefined && known.has(n)).map((n) => known.get(n)!);
    const launched = Promise.all(needed).then(() => spawnOne(p.name));
    const listening = launched.then((l) => l.listening);
    listening.catch(() => {}); // reported through `healthy` below
    known.set(p.name, listening);
    return launched.then((l) => l.healthy);
  };
  for (const p of selected) started.set(p.name, startInOrder(p));
  const abort = (): void => void system.stop();
  options.signal?.addEventListener("abort", abort, { once: true });
  if (options.signal?.aborted) abort();
  const results = await Promise.allSettled(started.values());
  options.signal?.removeEventListener("abort", abort);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await system.stop();
    throw failed.reason;
  }
  return system;
}

async function healthy(name: ProcessName, url: string, security: LauncherSecurity, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      if (name === "gateway") {
        if (await security.gatewayReady(url)) return;
      } else {
        const client = createServiceClient(Health, url, { timeoutMs: 1_000, tls: security.grpcTls });
        try {
          if ((await client.check({ service: "" })).status === HealthCheckResponse_ServingStatus.SERVING) return;
        } finally {
          client.close();
        }
      }
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]);
}
