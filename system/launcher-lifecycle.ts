/**
 * The lifecycle both launchers share (`system/main.ts`, `system/cluster-main.ts`): a signal during
 * start-up stops what has started and exits 0, a start that fails exits 1 saying why, and once up,
 * SIGINT or SIGTERM stops everything (exit 0) as a supervisor giving up does (exit 1).
 */
import type { Supervisor } from "./supervisor.js";

/** What a launcher starts: stopping it stops every process it started. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** A launcher's start-up, from its first line until what it starts is up. */
export interface LauncherStartUp {
  /** Aborted by SIGINT or SIGTERM during start-up: pass it to the start, so it stops early. */
  readonly signal: AbortSignal;
  /**
   * Awaits the start. If it fails: exits 0 ("stopped during start-up") when a signal came, else 1
   * with the error's message. If a signal came as it finished, stops what started and exits 0.
   * Otherwise gives the signals back to {@link runUntilStopped}.
   */
  started<T extends Stoppable>(start: Promise<T>): Promise<T>;
}

/**
 * Begins a launcher's start-up; `name` opens each line it writes (`TP-SAGA`, `TP-SAGA cluster`).
 * Call it before starting anything, so that no signal goes unhandled.
 */
export function beginStartUp(name: string): LauncherStartUp {
  const startAbort = new AbortController();
  const abortStart = (): void => startAbort.abort();
  process.once("SIGINT", abortStart);
  process.once("SIGTERM", abortStart);
  const stoppedDuringStartUp = (): never => {
    process.stdout.write(`${name} stopped during start-up.\n`);
    process.exit(0);
  };
  return {
    signal: startAbort.signal,
    async started(start) {
      const running = await start.catch((err: unknown) => {
        if (startAbort.signal.aborted) stoppedDuringStartUp();
        process.stderr.write(`${name} failed to start: ${(err as Error).message}\n`);
        process.exit(1);
      });
      process.off("SIGINT", abortStart);
      process.off("SIGTERM", abortStart);
      if (startAbort.signal.aborted) {
        // The signal came as the last health check passed.
        await running.stop();
        stoppedDuringStartUp();
      }
      return running;
    },
  };
}

/**
 * Keeps `running` up until SIGINT or SIGTERM (exit 0) or until a supervisor gives up and calls
 * `stop(1)`: then stops the supervisors (no restart after that), stops `running` and exits with
 * the code, once whatever calls it again.
 * @param supervise starts the supervisors, given the `stop` to call when one gives up.
 */
export function runUntilStopped(name: string, running: Stoppable, supervise: (stop: (code: number) => void) => Supervisor[]): void {
  let stopping = false;
  let supervisors: Supervisor[] = [];
  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const supervisor of supervisors) supervisor.stop();
    process.stdout.write(`${name} stopping…\n`);
    await running.stop();
    process.stdout.write(`${name} stopped.\n`);
    process.exit(code);
  };
  supervisors = supervise((code) => void stop(code));
  process.on("SIGINT", () => void stop(0));
  process.on("SIGTERM", () => void stop(0));
}
