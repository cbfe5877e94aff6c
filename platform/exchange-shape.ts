import type { DescMethod, DescService } from "@bufbuild/protobuf";

/**
 * How a service's `Exchange` stream carries its unary calls. The convention (see any of our
 * protos): `rpc Exchange(stream ExchangeRequest) returns (stream ExchangeResponse)`, where the
 * request has `call_id`, `timeout_ms` and a oneof `call` whose fields are named like unary
 * methods and hold their request types, and the response has `call_id`, `error_code`,
 * `error_message` and a oneof `result` with the same field names holding the response types.
 */
export interface ExchangeShape {
  /** The bidi-streaming Exchange method. */
  readonly method: DescMethod;
  /** The unary methods the stream carries, by local name (the oneof case). */
  readonly calls: ReadonlyMap<string, DescMethod>;
}

const REQUEST_FIELDS = ["callId", "timeoutMs"];
const RESPONSE_FIELDS = ["callId", "errorCode", "errorMessage"];

/**
 * The exchange shape of `service`, or undefined when it has no `Exchange` method.
 * @throws Error naming what is wrong when `Exchange` exists but does not follow the convention,
 *   so a malformed contract fails at start-up, not on the first call.
 */
export function exchangeShape(service: DescService): ExchangeShape | undefined {
  const method = service.methods.find((m) => m.name === "Exchange");
  if (!method) return undefined;
  const where = `${service.typeName}.Exchange`;
  if (method.methodKind !== "bidi_streaming") throw new Error(`${where} must stream both ways`);
  for (const [message, names] of [
    [method.input, REQUEST_FIELDS],
    [method.output, RESPONSE_FIELDS],
  ] as const) {
    for (const name of names) {
      if (!message.fields.some((f) => f.localName === name)) throw new Error(`${where}: ${message.typeName} lacks field ${name}`);
    }
  }
  const call = method.input.oneofs.find((o) => o.localName === "call");
  const result = method.output.oneofs.find((o) => o.localName === "result");
  if (!call || !result) throw new Error(`${where}: the request needs a oneof "call" and the response a oneof "result"`);
  const calls = new Map<string, DescMethod>();
  for (const field of call.fields) {
    const unary = service.methods.find((m) => m.localName === field.localName && m.methodKind === "unary");
    const answer = result.fields.find((f) => f.localName === field.localName);
    if (!unary || field.message !== unary.input || answer?.message !== unary.output) {
      throw new Error(`${where}: call ${field.name} must be named like a unary method and carry its request and response types`);
    }
    calls.set(field.localName, unary);
  }
  return { method, calls };
}
