/**
 * Retry policy as data on a step (DBOS `StepConfig` style), and the backoff it implies.
 */

/** How a step's action is retried. `maxAttempts` is the whole budget, first call included. */
export interface RetryPolicy {
  /** Calls allowed in total (≥ 1). A transient error on the last one leaves the outcome unknown: the step is compensated. */
  maxAttempts: number;
  /** Ceiling of the first backoff delay, in ms (0 in tests). */
  initialDelayMs: number;
  /** Cap on any backoff delay, in ms. */
  maxDelayMs: number;
  /** Growth of the ceiling per attempt (≥ 1). */
  backoffRate: number;
  /** Deadline of each call, in ms; the call's AbortSignal fires when it passes. */
  timeoutMs: number;
}

/**
 * How a step's compensation is retried. Compensations retry on every error, retryable or
 * not; after `attentionAfter` failed attempts the saga becomes NEEDS_ATTENTION. That is the
 * compensation's budget: `maxAttempts` is kept equal to it.
 */
export interface CompensationRetryPolicy extends RetryPolicy {
  attentionAfter: number;
}

/** Defaults for actions: 5 calls, 100 ms → 2 s backoff, 5 s per call. */
export const DEFAULT_RETRY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 2_000,
  backoffRate: 2,
  timeoutMs: 5_000,
});

/** Defaults for compensations: 20 calls, 100 ms → 10 s backoff, then NEEDS_ATTENTION. */
export const DEFAULT_COMPENSATION_RETRY: Readonly<CompensationRetryPolicy> = Object.freeze({
  maxAttempts: 20,
  attentionAfter: 20,
  initialDelayMs: 100,
  maxDelayMs: 10_000,
  backoffRate: 2,
  timeoutMs: 5_000,
});

/**
 * Delay before retry number `attempt + 1`, after `attempt` failed calls: exponential with
 * "full jitter" (uniform in [0, min(maxDelayMs, initialDelayMs·backoffRate^(attempt-1)))),
 * so retries of many sagas against one recovering service spread out. `random` returns a
 * number in [0, 1) (seeded in tests). Never throws.
 */
export function backoffDelay(
  policy: Pick<RetryPolicy, "initialDelayMs" | "maxDelayMs" | "backoffRate">,
  attempt: number,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.backoffRate ** Math.max(0, attempt - 1));
  return ceiling > 0 ? Math.floor(random() * ceiling) : 0;
}

/** Largest delay a Node timer accepts; longer ones would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Waits `ms` milliseconds, or less if `signal` aborts (it then resolves, never rejects:
 * the caller checks why it woke up). The runner's default `sleep`.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.min(Math.max(0, ms), MAX_TIMER_MS));
    signal?.addEventListener("abort", done, { once: true });
  });
}
