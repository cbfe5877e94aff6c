import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

export interface LoadOptions {
  /** Where to POST, e.g. http://127.0.0.1:8000/saga; only loopback addresses are accepted. */
  readonly url: string;
  /** Clients, each with at most one request in flight over a kept-alive connection. */
  readonly concurrency: number;
  /** At most this many requests are sent. */
  readonly count: number;
  /** No request is sent after this many ms; requests still in flight then get `requestTimeoutMs`. */
  readonly maxMs: number;
  /** A request that has no complete answer after this long is abandoned (counted as an error). */
  readonly requestTimeoutMs: number;
  /** The JSON body of request i. */
  readonly body: (i: number) => string;
}

export interface LoadResult {
  /** Requests sent / answered with a complete HTTP response. */
  readonly sent: number;
  readonly answered: number;
  /** From the first request to the last answer, in ms. */
  readonly elapsedMs: number;
  /** Latency of every answered request, in ms, in completion order. */
  readonly latenciesMs: Float64Array;
  /** Answers per HTTP status ("200", "409", …). */
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Requests without an answer, by error code ("ECONNRESET", "timeout", …). */
  readonly errors: Readonly<Record<string, number>>;
  /** True when the time bound, not the count, ended the run. */
  readonly timeBound: boolean;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Drives `count` POST requests through `concurrency` keep-alive clients (one node:http Agent
 * with that many sockets), bounded by count and by time, and records each latency and status.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const target = new URL(options.url);
  if (target.protocol !== "http:" || !LOOPBACK.has(target.hostname)) {
    throw new Error(`load goes only to http on the loopback interface, not ${options.url}`);
  }
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency, maxFreeSockets: options.concurrency, scheduling: "fifo" });
  const latencies = new Float64Array(options.count);
  const statusCounts: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let next = 0;
  let answered = 0;
  let timeBound = false;
  const started = performance.now();
  const deadline = started + options.maxMs;

  const one = (i: number): Promise<void> =>
    new Promise((resolve) => {
      const body = Buffer.from(options.body(i));
      const t0 = performance.now();
      let done = false;
      const finish = (status: number | undefined, error?: string): void => {
        if (done) return;
        done = true;
        if (status !== undefined) {
          latencies[answered++] = performance.now() - t0;
          statusCounts[status] = (statusCounts[status] ?? 0) + 1;
        } else {
          errors[error ?? "error"] = (errors[error ?? "error"] ?? 0) + 1;
        }
        resolve();
      };
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => finish(res.statusCode ?? 0));
          res.on("error", (err: NodeJS.ErrnoException) => finish(undefined, err.code ?? err.message));
        },
      );
      req.setTimeout(options.requestTimeoutMs, () => {
        finish(undefined, "timeout");
        req.destroy();
      });
      req.on("error", (err: NodeJS.ErrnoException) => finish(undefined, err.code ?? err.message));
      req.end(body);
    });

  const client = async (): Promise<void> => {
    for (;;) {
      if (next >= options.count) return;
      if (performance.now() >= deadline) {
        timeBound = true;
        return;
      }
      await one(next++);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, client));
  } finally {
    agent.destroy();
  }
  return {
    sent: next,
    answered,
    elapsedMs: performance.now() - started,
    latenciesMs: latencies.subarray(0, answered),
    statusCounts,
    errors,
    timeBound,
  };
}
