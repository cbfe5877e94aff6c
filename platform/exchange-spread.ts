import type { ExchangeClient } from "./exchange-client.js";

/** The connection of a lane: up, being attempted (or idle), or failed for now. */
export type LaneState = "ready" | "connecting" | "down";

/** One replica's Exchange stream, and the state of its connection. */
export interface ExchangeLane {
  readonly exchange: ExchangeClient;
  /** The connection's state; asking starts a connection that is idle. */
  state(): LaneState;
  /** Calls `onChange` once, when the state changes (or at the latest after `maxWaitMs`). */
  watch(maxWaitMs: number, onChange: () => void): void;
}

/**
 * Spreads Exchange calls over several replicas, one stream each. An Exchange stream lives on
 * one connection, so a channel's load balancing picks a replica once per stream, not per call:
 * to spread the calls, each replica gets a channel and a stream of its own (a lane), and each
 * call goes to the next lane in turn whose connection is ready.
 *
 * A dead replica's lane is not ready, so it is skipped; its calls in flight when it died fail
 * UNAVAILABLE (outcome unknown) and the caller's retry goes to a live one. While no lane is
 * ready but some are still connecting (at start, or after every replica was lost), a call waits
 * within its deadline for the first lane that connects, so a dead replica listed first does not
 * hold it. When every lane is down, the call goes to the next lane anyway and gets that
 * channel's behaviour: with `waitForReady` it waits for the connection, within its deadline;
 * without, it fails UNAVAILABLE at once.
 */
export function spreadExchange(lanes: readonly ExchangeLane[], defaultTimeoutMs: number): ExchangeClient {
  if (lanes.length === 0) throw new Error("spreadExchange needs at least one lane");
  if (lanes.length === 1) return lanes[0]!.exchange;
  let next = 0;
  let settling: Promise<void> | undefined;

  const readyLane = (): number | undefined => {
    for (let i = 0; i < lanes.length; i++) {
      const candidate = (next + i) % lanes.length;
      if (lanes[candidate]!.state() === "ready") return candidate;
    }
    return undefined;
  };
  // Every argument of a call is passed on as it came (whatever the ExchangeClient takes besides name, request and options).
  type CallArgs = Parameters<ExchangeClient["call"]>;
  const send = (lane: number, args: CallArgs): Promise<unknown> => {
    next = (lane + 1) % lanes.length;
    return lanes[lane]!.exchange.call(...args);
  };
  /** Resolves once a lane is ready or none is connecting any more; shared by the calls that wait. */
  const settled = (): Promise<void> =>
    (settling ??= new Promise<void>((resolve) => {
      const check = (): void => {
        const states = lanes.map((l) => l.state());
        if (states.includes("ready") || !states.includes("connecting")) {
          settling = undefined;
          resolve();
          return;
        }
        let fired = false;
        const once = (): void => {
          if (!fired) {
            fired = true;
            check();
          }
        };
        lanes.forEach((l, i) => states[i] === "connecting" && l.watch(1_000, once));
      };
      check();
    }));

  return {
    async call(...args: CallArgs) {
      const ready = readyLane();
      if (ready !== undefined) return send(ready, args);
      if (!lanes.some((l) => l.state() === "connecting")) return send(next, args);
      const [name, request, options, ...rest] = args;
      const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
      const startedAt = Date.now();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      const left = Math.max(1, timeoutMs - (Date.now() - startedAt));
      return send(readyLane() ?? next, [name, request, { ...options, timeoutMs: left }, ...rest] as CallArgs);
    },
    close() {
      for (const lane of lanes) lane.exchange.close();
    },
  };
}
