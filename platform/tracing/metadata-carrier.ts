import type * as grpc from "@grpc/grpc-js";
import type { TextMapGetter } from "@opentelemetry/api";
import type { TraceCarrier } from "./rpc-spans.js";

/** Reads W3C headers (`traceparent`, `tracestate`, `baggage`) from a unary call's gRPC metadata. */
export const metadataGetter: TextMapGetter<grpc.Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get: (metadata, key) => {
    const value = metadata.get(key)[0];
    return value === undefined ? undefined : String(value);
  },
};

/** Puts W3C headers on a unary call's gRPC metadata. */
export function setTraceMetadata(metadata: grpc.Metadata, carrier: TraceCarrier): void {
  for (const key in carrier) metadata.set(key, carrier[key]!);
}
