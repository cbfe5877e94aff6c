import type { Code } from "@connectrpc/connect";
import { CounterFamily, type CounterCell, HistogramFamily, type HistogramCell, LATENCY_BUCKETS_SECONDS } from "./metric-families.js";
import { metricsEnabled, metricsRegistry } from "./metrics-registry.js";
import { codeName } from "./rpc-errors.js";

/** Which end of a call records it. */
export type RpcSide = "server" | "client";
/** How the call travelled: its own HTTP/2 stream, or multiplexed on a service's Exchange stream. */
export type RpcWire = "unary" | "exchange";

type RpcLabel = "grpc_service" | "grpc_method" | "wire";

interface RpcFamilies {
  readonly handled: CounterFamily<RpcLabel | "grpc_code">;
  readonly seconds: HistogramFamily<RpcLabel>;
}

const families: Partial<Record<RpcSide, RpcFamilies>> = {};

function familiesOf(side: RpcSide): RpcFamilies {
  return (families[side] ??= {
    handled: new CounterFamily(
      metricsRegistry,
      `grpc_${side}_handled_total`,
      side === "server"
        ? "gRPC calls answered by this server, by method, wire and status code"
        : "gRPC calls made by this process, by method, wire and status code",
      ["grpc_service", "grpc_method", "wire", "grpc_code"],
    ),
    seconds: new HistogramFamily(
      metricsRegistry,
      `grpc_${side}_handling_seconds`,
      side === "server" ? "Time from a call's arrival to its answer, in seconds" : "Time from a call's start to its outcome, in seconds",
      ["grpc_service", "grpc_method", "wire"],
      LATENCY_BUCKETS_SECONDS,
    ),
  });
}

/** Records the calls of one method on one wire, at one end. */
export class CallRecorder {
  readonly #byCode: Array<CounterCell | undefined> = [];
  #seconds: HistogramCell | undefined;
  constructor(
    private readonly families: RpcFamilies,
    private readonly labels: Readonly<Record<RpcLabel, string>>,
  ) {}

  /** One call ended with `code` (0 = OK); `startedAt` is the `performance.now()` of its start. Series appear with a method's first call. */
  ended(code: Code | number, startedAt: number): void {
    (this.#byCode[code] ??= this.families.handled.cell({ ...this.labels, grpc_code: code === 0 ? "OK" : codeName(code) })).inc();
    (this.#seconds ??= this.families.seconds.cell(this.labels)).observe((performance.now() - startedAt) / 1000);
  }
}

/**
 * The recorder of `service`/`method` calls on `wire` at this `side`, or undefined when metrics
 * are off. Make it once per method when the server or client is built.
 */
export function rpcCallRecorder(side: RpcSide, wire: RpcWire, service: string, method: string): CallRecorder | undefined {
  if (!metricsEnabled()) return undefined;
  return new CallRecorder(familiesOf(side), { grpc_service: service, grpc_method: method, wire });
}
