/**
 * Health follows the store: while a process's database (the orchestrator's saga log, a
 * service's PostgreSQL database) does not answer, its gRPC health says NOT_SERVING (load
 * balancers, launchers and the gateway's /readyz see it; the calls that reach it wait for the
 * store or answer UNAVAILABLE), and SERVING again once it answers.
 */
import type { Logger } from "./logger.js";

/** A store that can say whether it answers now. */
export interface PingableStore {
  ping(timeoutMs?: number): Promise<boolean>;
}

/** Where the health status goes (the gRPC server). */
export interface HealthTarget {
  setServing(serving: boolean): void;
}

/**
 * Pings `store` every `everyMs` (one ping at a time, each bounded by the period or 2 s) and sets
 * `target` SERVING or NOT_SERVING on each change, logging it with `what` (e.g. "saga log").
 * Returns how to stop.
 */
export function watchStoreHealth(store: PingableStore, everyMs: number, target: HealthTarget, log: Logger, what = "store"): { stop(): void } {
  let serving = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const answers = await store.ping(Math.max(everyMs, 2_000));
    if (stopped || answers === serving) return;
    serving = answers;
    target.setServing(answers);
    if (answers) log.info(`${what} answers again: health SERVING`);
    else log.warn(`${what} unreachable: health NOT_SERVING until it answers`);
  };
  const next = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void check().finally(next), everyMs);
    timer.unref();
  };
  next();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
