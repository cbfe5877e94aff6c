/**
 * Health follows the saga log: while the store does not answer, the orchestrator's gRPC
 * health says NOT_SERVING (load balancers and launchers send their calls elsewhere; the
 * sagas it drives wait for the store), and SERVING again once it answers.
 */
import type { Logger } from "#platform/logger.js";

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
 * `target` SERVING or NOT_SERVING on each change, logging it. Returns how to stop.
 */
export function watchStoreHealth(store: PingableStore, everyMs: number, target: HealthTarget, log: Logger): { stop(): void } {
  let serving = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const answers = await store.ping(Math.max(everyMs, 2_000));
    if (stopped || answers === serving) return;
    serving = answers;
    target.setServing(answers);
    if (answers) log.info("saga log answers again: health SERVING");
    else log.warn("saga log unreachable: health NOT_SERVING until it answers; sagas wait for it");
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
