import * as grpc from "@grpc/grpc-js";
import { toBinary, type DescMethod, type DescService, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { HealthImplementation } from "grpc-health-check";
import { ReflectionService } from "@grpc/reflection";
import { file_grpc_health_v1_health } from "#gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "#gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "#gen/grpc/reflection/v1alpha/reflection_pb.js";
import type { Logger } from "./logger.js";
import { exchangeShape } from "./exchange-shape.js";
import { createExchangeServer, type ExchangeServer } from "./exchange-server.js";
import { GrpcHandlerContext, toStatus } from "./grpc-handler-context.js";
import { grpcUrlScheme, serverCredentials, type GrpcTls } from "./grpc-tls.js";
import { metadataGetter } from "./tracing/metadata-carrier.js";
import { traceServerCall } from "./tracing/rpc-spans.js";
import { tracingSwitch } from "./tracing/tracing-switch.js";
import { rpcCallRecorder } from "./rpc-metrics.js";
import { decode, encode } from "./protobuf-codec.js";

/** A generated service descriptor with the typed handlers that implement it. */
export interface ServiceBinding {
  readonly service: DescService;
  readonly handlers: Partial<ServiceImpl<DescService>>;
}

/**
 * The handlers a service implements: one per RPC, except `Exchange`, which the platform serves
 * from the unary handlers it carries (`exchange-server.ts`).
 */
export type ServiceHandlers<S extends DescService> = Omit<ServiceImpl<S>, "exchange">;

/** Pairs a service with its handlers, checked against the generated types. */
export function serve<S extends DescService>(service: S, handlers: ServiceHandlers<S>): ServiceBinding {
  return { service, handlers: handlers as unknown as Partial<ServiceImpl<DescService>> };
}

export interface GrpcServerOptions {
  readonly services: readonly ServiceBinding[];
  readonly port: number;
  readonly host?: string;
  readonly log: Logger;
  /** Largest request accepted, in bytes (default 4 MiB); larger ones get RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes?: number;
  /** How long close() lets in-flight calls finish before it cuts them (default 5 s). */
  readonly shutdownGraceMs?: number;
  /** TLS, and mutual TLS, from `readGrpcTls` (default plaintext). */
  readonly tls?: GrpcTls;
}

export interface GrpcServer {
  /** `http://host:port` (`https://` with TLS), with the port actually bound (so port 0 works in tests). */
  readonly url: string;
  readonly port: number;
  /** Marks health NOT_SERVING, stops accepting, lets in-flight calls finish (bounded), closes. */
  close(): Promise<void>;
  /** Sets health (the server's and every service's) SERVING or NOT_SERVING, e.g. while a store is unreachable; ignored once closing. */
  setServing(serving: boolean): void;
}

/**
 * Starts a grpc-js server for typed Connect-style handlers, plus `grpc.health.v1.Health`
 * and server reflection v1 and v1alpha, so grpcurl and `buf curl` can discover and call it.
 *
 * Handlers throw `ConnectError`; its code becomes the gRPC status code (the numbers are the
 * same). Any other error is a bug: it is logged and answered INTERNAL "internal error".
 * @throws when the port cannot be bound.
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const maxMessageBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  const server = new grpc.Server({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.keepalive_permit_without_calls": 1,
  });
  const health = new HealthImplementation({ "": "SERVING" });
  const exchanges: ExchangeServer[] = [];
  for (const binding of options.services) {
    server.addService(grpcDefinition(binding.service), grpcHandlers(binding, options.log, exchanges));
    health.setStatus(binding.service.typeName, "SERVING");
  }
  health.addToServer(server);
  const served = reflectionFiles(options.services);
  const reflection = new ReflectionService(reflectionPackage(served));
  serveFilesAsGiven(reflection, served);
  reflection.addToServer(server);

  const host = options.host ?? "127.0.0.1";
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, serverCredentials(options.tls), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  const graceMs = options.shutdownGraceMs ?? 5_000;
  let closing: Promise<void> | undefined;
  return {
    url: `${grpcUrlScheme(options.tls)}://${host}:${port}`,
    port,
    setServing(serving) {
      if (closing) return;
      const status = serving ? "SERVING" : "NOT_SERVING";
      health.setStatus("", status);
      for (const b of options.services) health.setStatus(b.service.typeName, status);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        health.setStatus("", "NOT_SERVING");
        for (const b of options.services) health.setStatus(b.service.typeName, "NOT_SERVING");
        for (const e of exchanges) e.drain();
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      return closing;
    },
  };
}

/**
 * The grpc-js service definition of a generated service: paths and (de)serializers. Every
 * message between our processes, client and server, unary and Exchange, goes through these:
 * our compiled codec (`protobuf-codec.ts`), which takes protobuf-es messages or plain init
 * objects and gives protobuf-es messages, byte for byte and field for field as protobuf-es.
 */
export function grpcDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    const { input, output } = method;
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: (value: unknown) => encode(input, value),
      requestDeserialize: (bytes: Buffer) => decode(input, bytes),
      responseSerialize: (value: unknown) => encode(output, value),
      responseDeserialize: (bytes: Buffer) => decode(output, bytes),
      originalName: method.name,
    };
  }
  return definition as grpc.ServiceDefinition;
}

function grpcHandlers(binding: ServiceBinding, log: Logger, exchanges: ExchangeServer[]): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  const shape = exchangeShape(binding.service);
  for (const method of binding.service.methods) {
    if (method === shape?.method) {
      const exchange = createExchangeServer(binding.service, binding.handlers, shape, log);
      exchanges.push(exchange);
      impl[method.localName] = exchange.handle;
      continue;
    }
    const handler = (binding.handlers as Record<string, unknown>)[method.localName] as ((req: unknown, ctx: unknown) => unknown) | undefined;
    if (method.methodKind === "unary") {
      const calls = rpcCallRecorder("server", "unary", binding.service.typeName, method.name);
      impl[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (!handler) return callback(unimplemented(method));
        const startedAt = calls ? performance.now() : 0;
        const ctx = new GrpcHandlerContext(binding.service, method, call);
        const run = (): unknown => handler(call.request, ctx);
        const settle = (outcome: Promise<unknown>): void =>
          void outcome.then(
            (res) => {
              calls?.ended(0, startedAt);
              callback(null, res);
            },
            (err: unknown) => {
              const status = toStatus(err, method, log);
              calls?.ended(status.code, startedAt);
              callback(status);
            },
          );
        if (tracingSwitch.on) traceServerCall(method, call.metadata, metadataGetter, run, settle);
        else settle(Promise.resolve().then(run));
      };
    } else if (method.methodKind === "server_streaming") {
      impl[method.localName] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        if (!handler) return void call.emit("error", unimplemented(method));
        const ctx = new GrpcHandlerContext(binding.service, method, call);
        void (async () => {
          try {
            for await (const res of handler(call.request, ctx) as AsyncIterable<unknown>) {
              if (call.cancelled) return;
              if (!call.write(res)) await new Promise((resolve) => call.once("drain", resolve));
            }
            call.end();
          } catch (err) {
            if (!call.cancelled) call.emit("error", toStatus(err, method, log));
          }
        })();
      };
    } else {
      throw new Error(`${method.methodKind} methods are not supported (${binding.service.typeName}.${method.name})`);
    }
  }
  return impl;
}

function unimplemented(method: DescMethod): Partial<grpc.StatusObject> {
  return { code: grpc.status.UNIMPLEMENTED, details: `${method.parent.typeName}.${method.name} is not implemented` };
}

/**
 * A package definition for @grpc/reflection built from the generated descriptors (no .proto
 * files needed at run time): each served file with its dependencies, plus health and
 * reflection themselves so that clients see every service.
 */
function reflectionPackage(served: ReadonlyMap<string, Buffer>) {
  const fileDescriptorProtos = [...served.values()];
  return { all: { fileDescriptorProtos } } as unknown as ConstructorParameters<typeof ReflectionService>[0];
}

/** Each served file with its dependencies, encoded, by file name. */
function reflectionFiles(services: readonly ServiceBinding[]): Map<string, Buffer> {
  const files = new Map<string, DescFile>();
  const add = (file: DescFile): void => {
    if (files.has(file.name)) return;
    files.set(file.name, file);
    file.dependencies.forEach(add);
  };
  for (const b of services) add(b.service.file);
  add(file_grpc_health_v1_health);
  add(file_grpc_reflection_v1_reflection);
  add(file_grpc_reflection_v1alpha_reflection);
  return new Map([...files.values()].map((f) => [f.proto.name, Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto))]));
}

/**
 * @grpc/reflection (1.0.x) decodes each file with protobufjs and serves its re-encoding, which
 * drops every field protobufjs does not know, custom options such as (saga.options.v1.saga)
 * among them. This puts back the bytes it was given, so clients see the options.
 * @throws when the library no longer keeps its encodings where this expects them (an upgrade).
 */
function serveFilesAsGiven(reflection: ReflectionService, given: ReadonlyMap<string, Buffer>): void {
  for (const version of [reflection["v1"], reflection["v1Alpha"]]) {
    const encodings = (version as unknown as { fileEncodings?: unknown }).fileEncodings;
    if (!(encodings instanceof Map)) throw new Error("@grpc/reflection no longer keeps fileEncodings: serveFilesAsGiven needs updating");
    for (const file of (encodings as Map<{ name?: string }, Uint8Array>).keys()) {
      const bytes = file.name === undefined ? undefined : given.get(file.name);
      if (bytes) encodings.set(file, bytes);
    }
  }
}
