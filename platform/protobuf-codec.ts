import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { CODEC_FALLBACK, messagePlan } from "./protobuf-codec-plan.js";
import { writeMessageBytes } from "./protobuf-codec-writer.js";
import { readMessageBytes } from "./protobuf-codec-reader.js";

/**
 * The protobuf codec of our wire: what every gRPC call between our processes encodes and
 * decodes with (grpc-server.ts's (de)serializers, unary and Exchange, client and server).
 *
 * protobuf-es v2 encodes and decodes by reflection, which profiles showed at 13-20 % of each
 * process's CPU. This codec plans each schema once (`protobuf-codec-plan.ts`) and runs a
 * specialised encoder and decoder over the plan, written from the proto3 wire format: the same
 * bytes as `toBinary(schema, create(schema, value))`, the same object as `fromBinary`. Whatever
 * it does not handle exactly as protobuf-es does (a schema with groups, extensions, proto2 or
 * editions features, wrapper or Struct types; a value of an unexpected type; unknown fields;
 * malformed or invalid UTF-8 input) goes to protobuf-es for the whole message, so results and
 * errors are protobuf-es's own.
 */

/**
 * Encodes `value`, a message of `schema` or an init object as `create(schema, init)` accepts,
 * into the bytes `toBinary(schema, create(schema, value))` returns, as a Buffer (what grpc-js
 * sends; often a slice of Node's shared pool, so not to be transferred).
 * @throws protobuf-es's error when the value cannot be encoded.
 */
export function encode(schema: DescMessage, value: unknown): Buffer {
  const plan = messagePlan(schema);
  if (plan !== undefined) {
    try {
      return writeMessageBytes(plan, value);
    } catch (err) {
      if (err !== CODEC_FALLBACK) throw err;
    }
  }
  const bytes = toBinary(schema, create(schema, value as Parameters<typeof create>[1]));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Decodes `bytes` into the message `fromBinary(schema, bytes)` returns.
 * @throws protobuf-es's error when the bytes are not a valid message of `schema`.
 */
export function decode<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array): MessageShape<Desc> {
  const plan = messagePlan(schema);
  if (plan !== undefined) {
    try {
      return readMessageBytes(plan, bytes) as MessageShape<Desc>;
    } catch (err) {
      if (err !== CODEC_FALLBACK) throw err;
    }
  }
  return fromBinary(schema, bytes);
}
