import type * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Logger } from "./logger.js";

/** What the context reads of the grpc-js server call it runs under (unary, streaming, or an Exchange stream). */
interface ServerCall {
  readonly cancelled: boolean;
  readonly metadata: grpc.Metadata;
  getDeadline(): grpc.Deadline;
  once(event: "cancelled" | "finish", listener: () => void): unknown;
}

/**
 * A Connect HandlerContext over a grpc-js call, built lazily: the abort signal, headers and
 * context values are made only when a handler asks for them. (Connect's createHandlerContext
 * makes an AbortController, a deadline timer and three Headers per call, and aborts with a
 * ConnectError after every call: a large share of a small service's CPU per call.)
 *
 * A call carried on an Exchange stream shares the stream's metadata and cancellation, and has
 * its own deadline (`deadlineAt`, epoch ms), which the caller sent with it.
 */
export class GrpcHandlerContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  #controller: AbortController | undefined;
  #requestHeader: Headers | undefined;
  #responseHeader: Headers | undefined;
  #responseTrailer: Headers | undefined;
  #values: ContextValues | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    private readonly call: ServerCall,
    private readonly deadlineAt?: number,
  ) {}

  get url(): string {
    return `/${this.service.typeName}/${this.method.name}`;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      const controller = (this.#controller = new AbortController());
      if (this.call.cancelled) controller.abort(new ConnectError("call cancelled", Code.Canceled));
      else this.call.once("cancelled", () => controller.abort(new ConnectError("call cancelled", Code.Canceled)));
      const left = this.timeoutMs();
      if (left !== undefined) {
        const timer = setTimeout(() => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)), left);
        timer.unref();
        this.call.once("finish", () => clearTimeout(timer));
      }
    }
    return this.#controller.signal;
  }

  timeoutMs(): number | undefined {
    const deadline = this.deadlineAt ?? this.call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
  }

  get requestHeader(): Headers {
    if (!this.#requestHeader) {
      const headers = (this.#requestHeader = new Headers());
      for (const [key, value] of Object.entries(this.call.metadata.getMap())) {
        headers.set(key, typeof value === "string" ? value : value.toString("base64"));
      }
    }
    return this.#requestHeader;
  }

  get responseHeader(): Headers {
    return (this.#responseHeader ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.#responseTrailer ??= new Headers());
  }

  get values(): ContextValues {
    return (this.#values ??= createContextValues());
  }
}

/**
 * What a handler's failure becomes on the wire: a ConnectError keeps its code and message; any
 * other error is a bug, logged and answered INTERNAL "internal error" (the cause is not leaked).
 */
export function toStatus(err: unknown, method: DescMethod, log: Logger): { code: grpc.status; details: string } {
  if (err instanceof ConnectError) {
    if (err.code === Code.Internal || err.code === Code.Unknown) {
      log.error({ err: err.cause ?? err, method: method.name }, "internal error");
    } else {
      // A refusal (a business failure, a bad argument…), for whoever follows one saga at debug level.
      log.debug({ method: method.name, code: Code[err.code], reason: err.rawMessage }, "call refused");
    }
    return { code: err.code as number as grpc.status, details: err.rawMessage };
  }
  log.error({ err, method: method.name }, "unhandled error in handler");
  return { code: Code.Internal as number as grpc.status, details: "internal error" };
}
