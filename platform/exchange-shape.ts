import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";

/**
 * How a service's `Exchange` stream carries its unary calls. The convention (see any of our
 * protos): `rpc Exchange(stream ExchangeRequest) returns (stream ExchangeResponse)`, where a
 * request is a batch, `repeated ExchangeCall calls`, and a response too, `repeated
 * ExchangeAnswer answers`. A call has `call_id`, `timeout_ms` and a oneof `call` whose fields
 * are named like unary methods and hold their request types; an answer has `call_id`,
 * `error_code`, `error_message` and a oneof `result` with the same field names holding the
 * response types.
 */
export interface ExchangeShape {
  /** The bidi-streaming Exchange method. */
  readonly method: DescMethod;
  /** The unary methods the stream carries, by local name (the oneof case). */
  readonly calls: ReadonlyMap<string, DescMethod>;
}

/**
 * Most calls in one ExchangeRequest (and answers in one ExchangeResponse): a turn that makes more
 * sends several messages, so a batch stays far below grpc-js's 4 MiB message limit.
 */
export const MAX_CALLS_PER_MESSAGE = 256;

const CALL_FIELDS = ["callId", "timeoutMs"];
const ANSWER_FIELDS = ["callId", "errorCode", "errorMessage"];

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
  const batchOf = (batch: DescMessage, name: string): DescMessage => {
    const field = batch.fields.find((f) => f.localName === name);
    if (field?.fieldKind !== "list" || field.listKind !== "message")
      throw new Error(`${where}: ${batch.typeName} needs a repeated message field ${name}`);
    return field.message;
  };
  const callMessage = batchOf(method.input, "calls");
  const answerMessage = batchOf(method.output, "answers");
  for (const [message, names] of [
    [callMessage, CALL_FIELDS],
    [answerMessage, ANSWER_FIELDS],
  ] as const) {
    for (const name of names) {
      if (!message.fields.some((f) => f.localName === name)) throw new Error(`${where}: ${message.typeName} lacks field ${name}`);
    }
  }
  const call = callMessage.oneofs.find((o) => o.localName === "call");
  const result = answerMessage.oneofs.find((o) => o.localName === "result");
  if (!call || !result) throw new Error(`${where}: a call needs a oneof "call" and an answer a oneof "result"`);
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
