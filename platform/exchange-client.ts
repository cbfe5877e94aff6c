import type * as grpc from "@grpc/grpc-js";
import { Code, ConnectError, type CallOptions } from "@connectrpc/connect";
import { codeName, fromGrpcError } from "./rpc-errors.js";
import type { TraceCarrier } from "./tracing/rpc-spans.js";
import type { CallRecorder } from "./rpc-metrics.js";
import { MAX_CALLS_PER_MESSAGE } from "./exchange-shape.js";

/** The decoded fields of an ExchangeAnswer that the client reads. */
interface ExchangeAnswer {
  readonly callId: number;
  readonly errorCode: number;
  readonly errorMessage: string;
  readonly result: { readonly value?: unknown };
}

/** The calls queued for the next ExchangeRequest of one stream. */
interface Batch {
  readonly stream: grpc.ClientDuplexStream<unknown, unknown>;
  readonly calls: object[];
}

interface PendingCall {
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly timer: NodeJS.Timeout;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  readonly calls: CallRecorder | undefined;
  readonly startedAt: number;
}

/** Unary calls carried on one service's Exchange stream. */
export interface ExchangeClient {
  /**
   * Sends the call named `name` (a oneof case of ExchangeCall.call) and awaits its answer;
   * `calls` records its outcome; `traceContext`, when tracing, is the call's W3C trace context
   * (ExchangeCall.trace_context).
   */
  call(name: string, request: unknown, options: CallOptions | undefined, calls?: CallRecorder, traceContext?: TraceCarrier): Promise<unknown>;
  /** Rejects the calls in flight (CANCELED) and ends the stream. */
  close(): void;
}

/**
 * Multiplexes unary calls over one long-lived Exchange stream, opened on first use and again
 * after it ends. The calls made in one turn of the event loop go out together, as one
 * ExchangeRequest written when the turn is over (setImmediate): under load many calls share a
 * message, and the wire's cost per message (grpc-js, HTTP/2 framing, the write) is paid once
 * for all of them; a lone call waits for nothing but the end of its turn. Each call has its
 * own deadline, enforced here: when it passes, the call rejects with DEADLINE_EXCEEDED and a
 * late answer is dropped. When the stream breaks, every call without an answer rejects with the stream's error (UNAVAILABLE for a lost connection):
 * its outcome is unknown, as for a unary call whose reply was lost, and the caller retries it
 * with the same idempotency key. An aborted signal rejects the call with CANCELED locally; the
 * server may still run it.
 */
export function createExchangeClient(open: () => grpc.ClientDuplexStream<unknown, unknown>, defaultTimeoutMs: number): ExchangeClient {
  const pending = new Map<number, PendingCall>();
  let stream: grpc.ClientDuplexStream<unknown, unknown> | undefined;
  let nextId = 0;
  let batch: Batch | undefined;

  /** Writes the queued calls, unless their stream broke meanwhile (their calls were rejected then). */
  const flush = (): void => {
    const b = batch;
    batch = undefined;
    if (b && b.stream === stream) b.stream.write({ calls: b.calls });
  };

  const settle = (id: number, code: Code): PendingCall | undefined => {
    const p = pending.get(id);
    if (!p) return undefined;
    pending.delete(id);
    clearTimeout(p.timer);
    if (p.onAbort) p.signal!.removeEventListener("abort", p.onAbort);
    p.calls?.ended(code, p.startedAt);
    return p;
  };

  const failAll = (broken: grpc.ClientDuplexStream<unknown, unknown>, err: ConnectError): void => {
    if (stream === broken) stream = undefined;
    for (const id of [...pending.keys()]) settle(id, err.code)!.reject(err);
  };

  const ensureStream = (): grpc.ClientDuplexStream<unknown, unknown> => {
    if (stream) return stream;
    const s = open();
    s.on("data", (response: { readonly answers: readonly ExchangeAnswer[] }) => {
      for (const answer of response.answers) {
        const p = settle(answer.callId, answer.errorCode);
        if (!p) continue;
        if (answer.errorCode === 0) p.resolve(answer.result.value);
        else p.reject(new ConnectError(answer.errorMessage, answer.errorCode as Code));
      }
    });
    s.on("error", (err) => failAll(s, brokenStreamError(err)));
    s.on("end", () => {
      failAll(s, new ConnectError("the exchange stream ended before the call was answered", Code.Unavailable));
      s.end();
    });
    stream = s;
    return s;
  };

  return {
    call(name, request, options, calls, traceContext) {
      return new Promise((resolve, reject) => {
        const signal = options?.signal;
        if (signal?.aborted) return reject(new ConnectError("the call was aborted", Code.Canceled));
        const s = ensureStream();
        let id = nextId;
        while (pending.has(id)) id = (id + 1) >>> 0;
        nextId = (id + 1) >>> 0;
        const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
        const timer = setTimeout(
          () => settle(id, Code.DeadlineExceeded)?.reject(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
          timeoutMs,
        );
        const onAbort = signal ? () => settle(id, Code.Canceled)?.reject(new ConnectError("the call was aborted", Code.Canceled)) : undefined;
        if (onAbort) signal!.addEventListener("abort", onAbort, { once: true });
        pending.set(id, { resolve, reject, timer, signal, onAbort, calls, startedAt: calls ? performance.now() : 0 });
        if (batch?.stream !== s) {
          batch = { stream: s, calls: [] };
          setImmediate(flush);
        }
        batch.calls.push(
          traceContext
            ? { callId: id, timeoutMs, traceContext, call: { case: name, value: request } }
            : { callId: id, timeoutMs, call: { case: name, value: request } },
        );
        if (batch.calls.length === MAX_CALLS_PER_MESSAGE) flush();
      });
    },
    close() {
      const s = stream;
      if (s) failAll(s, new ConnectError("the client was closed", Code.Canceled));
      s?.end();
    },
  };
}

/**
 * What the calls in flight get when their stream fails. We never cancel the stream while calls
 * are in flight, so whatever the stream's status (a forced server shutdown reads CANCELLED, a
 * lost connection UNAVAILABLE), their outcome is unknown: UNAVAILABLE, so the caller retries.
 * UNIMPLEMENTED (a server without Exchange) is kept, since retrying cannot help.
 */
function brokenStreamError(err: unknown): ConnectError {
  const e = fromGrpcError(err);
  if (e.code === Code.Unimplemented || e.code === Code.Unavailable) return e;
  return new ConnectError(`the exchange stream failed (${codeName(e.code)}: ${e.rawMessage}); the call's outcome is unknown`, Code.Unavailable);
}
