import type { RunningSystem } from "./start-system.js";
import type { ProcessName } from "./processes.js";

/** When a crashed process is started again, and when the launcher gives up on it. */
export interface RestartPolicy {
  /** Wait before the first restart after a crash (default 200 ms); doubles per failed start. */
  readonly firstDelayMs: number;
  /** Cap on that wait (default 5 s). */
  readonly maxDelayMs: number;
  /** Failed starts in a row after which everything stops (default 5). */
  readonly maxFailedStarts: number;
  /**
   * A process that dies within this long of being healthy counts as failing at start
   * (default 5 s): a process that crashes soon after each start is a crash loop too.
   */
  readonly stableMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { firstDelayMs: 200, maxDelayMs: 5_000, maxFailedStarts: 5, stableMs: 5_000 };

export interface SupervisorOptions {
  readonly policy?: Partial<RestartPolicy>;
  /** One line per crash, restart and failed start. */
  readonly log: (line: string) => void;
  /** Called once when a process has failed to start `maxFailedStarts` times in a row. */
  readonly onGiveUp: (name: ProcessName, reason: string) => void;
}

export interface Supervisor {
  /** No restart is started after this (call it before stopping the system). */
  stop(): void;
}

/**
 * Restarts a process of `system` that exits without being asked to, so a `kill -9` of one
 * process (the orchestrator, to watch its saga log at work) does not take the others down:
 * after a crash it waits `firstDelayMs`, starts the process again on the same port and waits
 * for its health check; each start that fails (the process exits before it is healthy, or
 * within `stableMs` after) doubles the wait, and after `maxFailedStarts` failed starts in a
 * row it calls `onGiveUp`, since a process that cannot start will not be cured by waiting.
 * Takes over `system.onUnexpectedExit`.
 */
export function superviseSystem(system: RunningSystem, options: SupervisorOptions): Supervisor {
  const policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
  const restarting = new Set<ProcessName>();
  const healthySince = new Map<ProcessName, number>();
  const failedStarts = new Map<ProcessName, number>();
  const startedAt = Date.now();
  let stopped = false;

  const delayAfter = (failures: number): number => Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** failures);

  const recover = async (name: ProcessName): Promise<void> => {
    restarting.add(name);
    try {
      for (;;) {
        const failures = failedStarts.get(name) ?? 0;
        if (failures >= policy.maxFailedStarts) {
          stopped = true;
          options.onGiveUp(name, `${name} keeps crashing at start: ${failures} failed starts in a row`);
          return;
        }
        const delay = delayAfter(failures);
        options.log(`${name}: restarting in ${delay} ms (start ${failures + 1} of at most ${policy.maxFailedStarts} in a row)`);
        await new Promise((r) => setTimeout(r, delay));
        if (stopped) return;
        const t = Date.now();
        try {
          await system.restart(name);
        } catch (err) {
          if (stopped) return;
          failedStarts.set(name, failures + 1);
          options.log(`${name}: start failed: ${(err as Error).message}`);
          continue;
        }
        healthySince.set(name, Date.now());
        options.log(`${name}: restarted (pid ${system.pid(name)}), healthy ${Date.now() - t} ms after its start`);
        return;
      }
    } finally {
      restarting.delete(name);
    }
  };

  system.onUnexpectedExit = (name, code, signal) => {
    // A start that fails inside `recover` is counted there.
    if (stopped || restarting.has(name)) return;
    const upMs = Date.now() - (healthySince.get(name) ?? startedAt);
    if (upMs < policy.stableMs) failedStarts.set(name, (failedStarts.get(name) ?? 0) + 1);
    else failedStarts.set(name, 0);
    options.log(`${name} exited unexpectedly (code ${code}, signal ${signal}) after ${(upMs / 1_000).toFixed(1)} s up`);
    void recover(name);
  };

  return {
    stop() {
      stopped = true;
    },
  };
}
