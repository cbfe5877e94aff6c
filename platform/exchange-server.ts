import type * as grpc from "@grpc/grpc-js";
import { Code } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MAX_CALLS_PER_MESSAGE, type ExchangeShape } from "./exchange-shape.js";
import { GrpcHandlerContext, toStatus } from "./grpc-handler-context.js";
import type { Logger } from "./logger.js";
import { objectGetter, traceServerCall, type TraceCarrier } from "./tracing/rpc-spans.js";
import { tracingSwitch } from "./tracing/tracing-switch.js";
import { rpcCallRecorder, type CallRecorder } from "./rpc-metrics.js";

/** The decoded fields of an ExchangeCall that the server reads. */
interface ExchangeCall {
  readonly callId: number;
  readonly timeoutMs: number;
  readonly traceContext: TraceCarrier;
  readonly call: { readonly case: string | undefined; readonly value?: unknown };
}

type Handler = (request: unknown, ctx: GrpcHandlerContext) => unknown;

/** One open Exchange stream: calls being handled, answers not yet written, and whether the client or the server is done. */
interface OpenStream {
  readonly stream: grpc.ServerDuplexStream<unknown, unknown>;
  inFlight: number;
  /** Answers for the next ExchangeResponse, written at the end of the turn that produced them. */
  answers: object[];
  halfClosed: boolean;
  ended: boolean;
}

/** Serves the Exchange streams of one service; `drain()` ends them once their calls are answered. */
export interface ExchangeServer {
  /** The grpc-js handler of the Exchange method. */
  readonly handle: (stream: grpc.ServerDuplexStream<unknown, unknown>) => void;
  /** Refuses new calls (UNAVAILABLE) and ends every stream as soon as its calls are answered. */
  drain(): void;
}

/**
 * Runs each call of an Exchange stream through the same typed handler as the unary RPC it
 * names, concurrently, and answers each as soon as it is ready (so answers may overtake each
 * other): the answers that become ready in one turn of the event loop go out together, as one
 * ExchangeResponse written when the turn is over. A failure is answered in-band with its
 * code; the stream goes on.
 */
export function createExchangeServer(
  service: DescService,
  handlers: Partial<ServiceImpl<DescService>>,
  shape: ExchangeShape,
  log: Logger,
): ExchangeServer {
  const byCase = new Map<string, { method: DescMethod; handler: Handler | undefined; calls: CallRecorder | undefined }>();
  for (const [name, method] of shape.calls) {
    const calls = rpcCallRecorder("server", "exchange", service.typeName, method.name);
    byCase.set(name, { method, handler: (handlers as Record<string, Handler | undefined>)[name], calls });
  }
  const open = new Set<OpenStream>();
  let draining = false;

  /** Writes the answers queued on `s`, unless the stream is gone. */
  const flush = (s: OpenStream): void => {
    const answers = s.answers;
    if (answers.length === 0) return;
    s.answers = [];
    if (!s.stream.cancelled && !s.ended) s.stream.write({ answers });
  };

  const endIfIdle = (s: OpenStream): void => {
    if (s.inFlight > 0 || s.ended) return;
    flush(s);
    s.ended = true;
    open.delete(s);
    if (!s.stream.cancelled) s.stream.end();
  };

  return {
    handle(stream) {
      const state: OpenStream = { stream, inFlight: 0, answers: [], halfClosed: false, ended: false };
      open.add(state);
      const flushState = (): void => flush(state);
      const answer = (callId: number, answerOf: object): void => {
        if (!stream.cancelled && !state.ended) {
          if (state.answers.length === 0) setImmediate(flushState);
          state.answers.push({ callId, ...answerOf });
          if (state.answers.length === MAX_CALLS_PER_MESSAGE) flush(state);
        }
        state.inFlight--;
        if (draining || state.halfClosed) endIfIdle(state);
      };
      const serve = (request: ExchangeCall): void => {
        state.inFlight++;
        const { callId, timeoutMs, call } = request;
        const entry = call.case === undefined ? undefined : byCase.get(call.case);
        if (draining) return answer(callId, { errorCode: Code.Unavailable, errorMessage: "the server is shutting down" });
        if (!entry) return answer(callId, { errorCode: Code.InvalidArgument, errorMessage: "call: not set, or not a call this stream carries" });
        const { method, handler, calls } = entry;
        if (!handler) return answer(callId, { errorCode: Code.Unimplemented, errorMessage: `${service.typeName}.${method.name} is not implemented` });
        const startedAt = calls ? performance.now() : 0;
        const ctx = new GrpcHandlerContext(service, method, stream, timeoutMs > 0 ? Date.now() + timeoutMs : Infinity);
        const run = (): unknown => handler(call.value, ctx);
        const settle = (outcome: Promise<unknown>): void =>
          void outcome.then(
            (response) => {
              calls?.ended(0, startedAt);
              answer(callId, { errorCode: 0, result: { case: call.case, value: response } });
            },
            (err: unknown) => {
              const status = toStatus(err, method, log);
              calls?.ended(status.code, startedAt);
              answer(callId, { errorCode: status.code, errorMessage: status.details });
            },
          );
        if (tracingSwitch.on) traceServerCall(method, request.traceContext, objectGetter, run, settle);
        else settle(Promise.resolve().then(run));
      };
      stream.on("data", (request: { readonly calls: readonly ExchangeCall[] }) => {
        for (const call of request.calls) serve(call);
      });
      stream.on("end", () => {
        state.halfClosed = true;
        endIfIdle(state);
      });
      const gone = (): void => {
        state.ended = true;
        open.delete(state);
      };
      stream.on("cancelled", gone);
      stream.on("error", gone);
    },
    drain() {
      draining = true;
      for (const s of open) endIfIdle(s);
    },
  };
}
