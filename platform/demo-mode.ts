/**
 * The seed's demo behaviour, reproducible by configuration: each call of a service's action
 * waits a random latency and fails at random. Off by default (rate 0, latency 0).
 */
export interface DemoMode {
  /** Waits the configured latency, then answers whether this call should fail. */
  next(): Promise<boolean>;
  readonly enabled: boolean;
}

export interface DemoModeOptions {
  /** Probability in [0, 1] that an action fails with a business error. */
  failureRate: number;
  /** Latency range in milliseconds, drawn uniformly. */
  minLatencyMs: number;
  maxLatencyMs: number;
  random?: () => number;
}

/** Creates the demo mode of one service. */
export function createDemoMode(options: DemoModeOptions): DemoMode {
  const random = options.random ?? Math.random;
  const { failureRate, minLatencyMs, maxLatencyMs } = options;
  const enabled = failureRate > 0 || maxLatencyMs > 0;
  return {
    enabled,
    async next() {
      if (!enabled) return false;
      const latency = minLatencyMs + random() * Math.max(0, maxLatencyMs - minLatencyMs);
      if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
      return random() < failureRate;
    },
  };
}

/** Demo mode switched off: no latency, no failures (the default, and what tests use). */
export const DEMO_OFF: DemoMode = createDemoMode({ failureRate: 0, minLatencyMs: 0, maxLatencyMs: 0 });
