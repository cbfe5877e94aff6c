/**
 * A child process of the rivals benchmark (an engine process, restate-server), with its output
 * lines forwarded to a logger and a bounded stop, so the runner can start it, read its pid for
 * CPU figures, and always stop what it started.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface StartedChild {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Set when the process has exited without being asked to. */
  readonly unexpectedExit: () => string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface ChildOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly onLine: (name: string, line: string) => void;
}

/** Spawns a process whose stdout and stderr lines go to `onLine`. */
export function startChild(options: ChildOptions): StartedChild {
  const child = spawn(options.command, [...options.args], { cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"] });
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn ${options.command}`);
  let expected = false;
  let unexpected: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      if (!expected) {
        unexpected = `${options.name} exited unexpectedly (code ${code}, signal ${signal})`;
        options.onLine(options.name, unexpected);
      }
      resolve();
    }),
  );
  for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on("line", (line) => options.onLine(options.name, line));
  return {
    name: options.name,
    pid: child.pid,
    child,
    unexpectedExit: () => unexpected,
    async stop(graceMs = 10_000) {
      expected = true;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const forced = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(forced);
    },
  };
}

/**
 * Waits for the first JSON line of `started` whose `msg` is "listening" and returns it.
 * @throws when the process exits first or `timeoutMs` passes.
 */
export function waitForListening(started: StartedChild, timeoutMs: number): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${started.name} did not print "listening" in ${timeoutMs} ms`)), timeoutMs);
    const onExit = (): void => {
      clearTimeout(timer);
      reject(new Error(`${started.name} exited before it was listening`));
    };
    started.child.once("exit", onExit);
    for (const stream of [started.child.stdout!, started.child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        if (!line.includes('"listening"')) return;
        try {
          const parsed = JSON.parse(line) as Record<string, string>;
          if (parsed["msg"] !== "listening") return;
          clearTimeout(timer);
          started.child.off("exit", onExit);
          resolve(parsed);
        } catch {
          /* not a JSON line */
        }
      });
    }
  });
}

/** Polls `check` every 100 ms until it returns true. @throws after `timeoutMs`, with `what`. */
export async function pollUntil(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() >= deadline) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
