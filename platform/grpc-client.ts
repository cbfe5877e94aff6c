import * as grpc from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import type { CallOptions, Client } from "@connectrpc/connect";
import { grpcDefinition } from "./grpc-server.js";
import { fromGrpcError } from "./rpc-errors.js";
import { exchangeShape } from "./exchange-shape.js";
import { createExchangeClient } from "./exchange-client.js";
import { channelCredentials, type GrpcTls } from "./grpc-tls.js";
import { setTraceMetadata } from "./tracing/metadata-carrier.js";
import { traceClientCall, type TraceCarrier } from "./tracing/rpc-spans.js";
import { tracingSwitch } from "./tracing/tracing-switch.js";
import { rpcCallRecorder } from "./rpc-metrics.js";
import { spreadExchange, type LaneState } from "./exchange-spread.js";
import { parsePeerAddresses } from "./peer-addresses.js";

/** A typed client over one grpc-js channel, with the shape of a Connect `Client`. */
export type ServiceClient<S extends DescService> = Client<S> & {
  /** Closes the channel. */
  close(): void;
};

export interface ServiceClientOptions {
  /** Deadline for calls that set no `timeoutMs` of their own (default 10 s). */
  readonly timeoutMs?: number;
  /** Largest response accepted, in bytes (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /**
   * Wait for the connection (up to each call's deadline) instead of failing at once with
   * UNAVAILABLE while the server is down or restarting (default false).
   */
  readonly waitForReady?: boolean;
  /**
   * Carry the unary calls that the service's `Exchange` stream carries on that stream instead of
   * one HTTP/2 stream per call (default false): about a quarter of the CPU per call, for callers
   * on the hot path. A call with `headers` of its own still goes unary.
   */
  readonly exchange?: boolean;
  /**
   * With `exchange`: how often the channel pings its peer (default 10 s). A connection whose
   * ping goes unanswered for as long again is closed, so a stream on a dead connection (a peer
   * that vanished without a reset) fails its calls UNAVAILABLE and the next call opens a new
   * one, instead of every call timing out on it until the OS gives up.
   */
  readonly keepaliveMs?: number;
  /** For `https://` URLs: the CA to verify the server with and the certificate to present (`readGrpcTls`). */
  readonly tls?: GrpcTls;
}

type GrpcUnary = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => grpc.ClientUnaryCall;
type GrpcServerStream = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;
type GrpcBidiStream = (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, unknown>;

/**
 * Creates a typed client of `service` at `url` (`http://host:port`, `https://` for TLS, or several comma-separated
 * IP URLs, one per replica: see `parsePeerAddresses`) on one reused grpc-js channel. Methods
 * take and return protobuf-es messages, like a Connect client, so code that calls it runs
 * unchanged over Connect's in-memory transport in tests. Every call has a deadline. Failures
 * reject with `ConnectError` carrying the gRPC code (network errors are UNAVAILABLE, a passed
 * deadline DEADLINE_EXCEEDED).
 *
 * Replicas: the channel's load-balancing policy is grpc-js's round_robin, so unary and
 * streaming calls go to each connected address in turn, and an address that is down is left
 * out until it connects again (a host name that resolves to several addresses is balanced the
 * same way). Exchange calls go over one stream per listed address (`spreadExchange`).
 * @throws Error when `url` is not one URL or a list of IP URLs.
 */
export function createServiceClient<S extends DescService>(service: S, url: string, options: ServiceClientOptions = {}): ServiceClient<S> {
  const defaultTimeoutMs = options.timeoutMs ?? 10_000;
  const waitForReady = options.waitForReady ?? false;
  const Ctor = grpc.makeGenericClientConstructor(grpcDefinition(service), service.typeName);
  const peer = parsePeerAddresses(url);
  const keepaliveMs = options.keepaliveMs ?? 10_000;
  const credentials = channelCredentials(`${peer.scheme}://${peer.addresses[0]}`, options.tls);
  const channelOptions: grpc.ChannelOptions = {
    "grpc.max_receive_message_length": options.maxMessageBytes ?? 4 * 1024 * 1024,
    ...(peer.balance ? { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) } : {}),
    // A peer that went away (a restart, a replica killed) is dialled again within a second or two,
    // not on grpc-js's default backoff, which grows to two minutes with the outage.
    "grpc.initial_reconnect_backoff_ms": 250,
    "grpc.max_reconnect_backoff_ms": 2_000,
    ...(options.exchange ? { "grpc.keepalive_time_ms": keepaliveMs, "grpc.keepalive_timeout_ms": keepaliveMs } : {}),
  };
  type RawClient = Record<string, GrpcUnary & GrpcServerStream & GrpcBidiStream> & grpc.Client;
  const channelTo = (target: string): RawClient => new Ctor(target, credentials, channelOptions) as unknown as RawClient;
  const raw = channelTo(peer.target);
  const shape = options.exchange ? exchangeShape(service) : undefined;
  // One channel per replica for the Exchange streams (the shared channel itself when there is one address).
  const laneChannels = shape ? (peer.addresses.length === 1 ? [raw] : peer.addresses.map(channelTo)) : [];
  const exchange = shape
    ? spreadExchange(
        laneChannels.map((channel) => ({
          exchange: createExchangeClient(
            () => channel[shape.method.localName]!(metadataOf(undefined, waitForReady), { deadline: Infinity }),
            defaultTimeoutMs,
          ),
          state: () => laneState(channel.getChannel().getConnectivityState(true)),
          watch: (maxWaitMs, onChange) =>
            channel.getChannel().watchConnectivityState(channel.getChannel().getConnectivityState(false), Date.now() + maxWaitMs, onChange),
        })),
        defaultTimeoutMs,
      )
    : undefined;
  const client: Record<string, unknown> = {
    close: () => {
      exchange?.close();
      for (const channel of new Set([raw, ...laneChannels])) channel.close();
    },
  };
  for (const method of service.methods) {
    const call = raw[method.localName]!.bind(raw);
    if (method.methodKind === "unary") {
      const carried = exchange !== undefined && shape!.calls.has(method.localName);
      const unaryCalls = rpcCallRecorder("client", "unary", service.typeName, method.name);
      const exchangeCalls = carried ? rpcCallRecorder("client", "exchange", service.typeName, method.name) : undefined;
      const send = (request: unknown, opts: CallOptions | undefined, trace: TraceCarrier | undefined): Promise<unknown> =>
        carried && opts?.headers === undefined
          ? exchange.call(method.localName, request, opts, exchangeCalls, trace)
          : new Promise((resolve, reject) => {
              const deadline = Date.now() + (opts?.timeoutMs ?? defaultTimeoutMs);
              const startedAt = unaryCalls ? performance.now() : 0;
              const md = metadataOf(opts, waitForReady);
              if (trace) setTraceMetadata(md, trace);
              const pending = call(request, md, { deadline }, (err, res) => {
                if (opts?.signal) opts.signal.removeEventListener("abort", cancel);
                const failure = err ? fromGrpcError(err) : undefined;
                unaryCalls?.ended(failure ? failure.code : 0, startedAt);
                if (failure) reject(failure);
                else resolve(res);
              });
              const cancel = (): void => pending.cancel();
              if (opts?.signal) {
                if (opts.signal.aborted) pending.cancel();
                else opts.signal.addEventListener("abort", cancel, { once: true });
              }
            });
      // Tracing: a CLIENT span per call, its W3C context sent in the metadata or the Exchange call.
      client[method.localName] = (request: unknown, opts?: CallOptions) =>
        tracingSwitch.on ? traceClientCall(method, (trace) => send(request, opts, trace)) : send(request, opts, undefined);
    } else if (method.methodKind === "server_streaming") {
      client[method.localName] = (request: unknown, opts?: CallOptions) =>
        streamOf(() => {
          const deadline = opts?.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
          const stream = call(request, metadataOf(opts, waitForReady), { deadline });
          opts?.signal?.addEventListener("abort", () => stream.cancel(), { once: true });
          return stream;
        });
    }
  }
  return client as ServiceClient<S>;
}

async function* streamOf(open: () => grpc.ClientReadableStream<unknown>): AsyncGenerator<unknown> {
  const stream = open();
  try {
    for await (const message of stream) yield message;
  } catch (err) {
    throw fromGrpcError(err);
  } finally {
    stream.cancel();
  }
}

function metadataOf(opts: CallOptions | undefined, waitForReady: boolean): grpc.Metadata {
  const md = new grpc.Metadata(waitForReady ? { waitForReady } : undefined);
  if (opts?.headers) new Headers(opts.headers).forEach((value, key) => md.set(key, value));
  return md;
}

function laneState(state: grpc.connectivityState): LaneState {
  if (state === grpc.connectivityState.READY) return "ready";
  if (state === grpc.connectivityState.IDLE || state === grpc.connectivityState.CONNECTING) return "connecting";
  return "down";
}
