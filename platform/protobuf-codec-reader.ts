import { protoInt64 } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import {
  CODEC_FALLBACK,
  compiledFunction,
  KIND_BOOL,
  KIND_BYTES,
  KIND_ENUM,
  KIND_INT32,
  KIND_INT64,
  KIND_MESSAGE,
  KIND_STRING,
  KIND_UINT32,
  SHAPE_LIST,
  SHAPE_MAP,
  SHAPE_ONEOF_MEMBER,
  SHAPE_SINGULAR,
  SHAPE_SINGULAR_MESSAGE,
  WIRE_LENGTH_DELIMITED,
  WIRE_VARINT,
  type FieldPlan,
  type MessagePlan,
  type ZeroMember,
} from "./protobuf-codec-plan.js";

/**
 * The decoder of the compiled codec: reads bytes into the object `fromBinary` returns (the same
 * `$typeName`, zero values, `{ case: undefined }` for an unset oneof, bigint for int64, bytes as
 * views of the input, last value wins and repeated messages merge). Anything it does not read
 * exactly as protobuf-es would (an unknown field, which protobuf-es keeps in `$unknown`, an
 * unexpected wire type, a length or varint that runs past its message, invalid UTF-8, deep
 * nesting) makes it throw CODEC_FALLBACK, and the caller lets protobuf-es decode the whole
 * message, errors included.
 */

/** protobuf-es's default recursion limit: deeper messages are its to refuse. */
const RECURSION_LIMIT = 100;
const decodeUtf8 = getTextEncoding().decodeUtf8;

const EMPTY = new Uint8Array(0);
const EMPTY_BUFFER = Buffer.alloc(0);
/** The input being read; bytes fields are views of it, as protobuf-es makes them. */
let bytes: Uint8Array = EMPTY;
/** The same bytes as a Buffer, to decode ASCII strings natively. */
let text: Buffer = EMPTY_BUFFER;
let pos = 0;
let depth = 0;
/** The last 64-bit varint read (readVarint64), as two signed 32-bit halves. */
let low = 0;
let high = 0;

type Fields = Record<string, unknown>;

type Reader = (message: Fields, end: number) => Fields;

/** Decodes all of `input` as a message of `plan`; throws CODEC_FALLBACK when protobuf-es must do it. */
export function readMessageBytes(plan: MessagePlan, input: Uint8Array): Fields {
  bytes = input;
  text = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  pos = 0;
  depth = 0;
  try {
    return (plan.reader ?? compileReader(plan))((plan.zero ?? compileZero(plan))(), input.length);
  } finally {
    bytes = EMPTY;
    text = EMPTY_BUFFER;
  }
}

/** The names the compiled readers see, and what they are. */
const READER_HELPERS = {
  FALLBACK: CODEC_FALLBACK,
  enter,
  leave,
  nextTag,
  readNested,
  readListItems,
  readMapEntry,
  readString,
  readBool,
  readVarint32,
  readInt64,
  readBytes,
};

/** The expression, in a compiled reader, that reads one value of `kind`. */
function readExpression(kind: number): string {
  switch (kind) {
    case KIND_STRING:
      return "readString(end)";
    case KIND_BOOL:
      return "readBool(end)";
    case KIND_INT32:
    case KIND_ENUM:
      return "(readVarint32(end) | 0)";
    case KIND_UINT32:
      return "(readVarint32(end) >>> 0)";
    case KIND_INT64:
      return "readInt64(end)";
    default:
      return "readBytes(end)";
  }
}

/**
 * Compiles the reader of `plan`'s fields, as protobufjs generates its decoders: a switch on the
 * tag (field number and expected wire type) with each field's property written by name. Any
 * other tag (an unknown field, a wire type protobuf-es would misread) falls back.
 */
function compileReader(plan: MessagePlan): Reader {
  const cases: string[] = [];
  plan.fields.forEach((field, i) => {
    const name = JSON.stringify(field.localName);
    const tagOf = (wireType: number): number => ((field.number << 3) | wireType) >>> 0;
    switch (field.shape) {
      case SHAPE_SINGULAR:
        cases.push(`case ${tagOf(field.valueWireType)}: message[${name}] = ${readExpression(field.kind)}; break;`);
        break;
      case SHAPE_SINGULAR_MESSAGE:
        cases.push(`case ${tagOf(WIRE_LENGTH_DELIMITED)}: message[${name}] = readNested(M[${i}], message[${name}], end); break;`);
        break;
      case SHAPE_ONEOF_MEMBER: {
        const oneof = JSON.stringify(field.oneof);
        const value =
          field.kind === KIND_MESSAGE
            ? `readNested(M[${i}], message[${oneof}].case === ${name} ? message[${oneof}].value : undefined, end)`
            : readExpression(field.kind);
        cases.push(`case ${tagOf(field.valueWireType)}: message[${oneof}] = { case: ${name}, value: ${value} }; break;`);
        break;
      }
      case SHAPE_LIST:
        if (field.kind === KIND_MESSAGE) {
          cases.push(`case ${tagOf(WIRE_LENGTH_DELIMITED)}: message[${name}].push(readNested(M[${i}], undefined, end)); break;`);
        } else {
          cases.push(`case ${tagOf(field.valueWireType)}: message[${name}].push(${readExpression(field.kind)}); break;`);
          // protobuf-es reads a length-delimited run of varint values as packed, packed or not in the schema.
          if (field.valueWireType === WIRE_VARINT)
            cases.push(`case ${tagOf(WIRE_LENGTH_DELIMITED)}: readListItems(${field.kind}, message[${name}], end); break;`);
        }
        break;
      case SHAPE_MAP:
        cases.push(`case ${tagOf(WIRE_LENGTH_DELIMITED)}: readMapEntry(F[${i}], message[${name}], end); break;`);
        break;
    }
  });
  const source = [
    "return function read(message, end) {",
    "enter();",
    "for (let tag = nextTag(end); tag !== 0; tag = nextTag(end)) {",
    "switch (tag) {",
    ...cases,
    "default: throw FALLBACK;",
    "}",
    "}",
    "leave();",
    "return message;",
    "};",
  ].join("\n");
  const names = Object.keys(READER_HELPERS);
  const factory = compiledFunction(["F", "M", ...names], source) as (...args: unknown[]) => Reader;
  const reader = factory(
    plan.fields,
    plan.fields.map((f) => f.message),
    ...Object.values(READER_HELPERS),
  );
  plan.reader = reader;
  return reader;
}

/** Compiles the maker of `plan`'s zero message, as protobuf-es's `create(schema)` makes it: one object literal. */
function compileZero(plan: MessagePlan): () => Fields {
  const properties = [`$typeName: ${JSON.stringify(plan.typeName)}`];
  for (const member of plan.zeroMembers) {
    properties.push(`${JSON.stringify(member.localName)}: ${zeroExpression(member.zero)}`);
  }
  const factory = compiledFunction(["ZERO_INT64"], `return function zero() { return { ${properties.join(", ")} }; };`) as (
    zeroInt64: unknown,
  ) => () => Fields;
  const zero = factory(protoInt64.zero);
  plan.zero = zero;
  return zero;
}

function zeroExpression(zero: ZeroMember["zero"]): string {
  switch (zero) {
    case "oneof":
      return "{ case: undefined }";
    case "list":
      return "[]";
    case "map":
      return "{}";
    case KIND_STRING:
      return `""`;
    case KIND_BOOL:
      return "false";
    case KIND_INT64:
      return "ZERO_INT64";
    case KIND_BYTES:
      return "new Uint8Array(0)";
    default:
      return "0";
  }
}

/** Counts a message level in, refusing what protobuf-es's recursion limit would refuse. */
function enter(): void {
  if (++depth > RECURSION_LIMIT) throw CODEC_FALLBACK;
}

function leave(): void {
  depth--;
}

/** The next tag before `end`, or 0 at `end`. */
function nextTag(end: number): number {
  return pos < end ? readTag(end) : 0;
}

function readNested(plan: MessagePlan, existing: Fields | undefined, end: number): Fields {
  const nestedEnd = readLengthEnd(end);
  return (plan.reader ?? compileReader(plan))(existing ?? (plan.zero ?? compileZero(plan))(), nestedEnd);
}

/** A packed run of varint values of `kind`. */
function readListItems(kind: number, list: unknown[], end: number): void {
  const runEnd = readLengthEnd(end);
  while (pos < runEnd) list.push(readValue(kind, runEnd));
}

/** A map entry: key (1) and value (2), each optional (zero when missing), nothing else. */
function readMapEntry(field: FieldPlan, map: Fields, end: number): void {
  const entryEnd = readLengthEnd(end);
  let key = "";
  let value: unknown;
  while (pos < entryEnd) {
    const tag = readTag(entryEnd);
    if (tag === ((1 << 3) | WIRE_LENGTH_DELIMITED)) key = readString(entryEnd);
    else if (tag === ((2 << 3) | field.valueWireType)) {
      value = field.kind === KIND_MESSAGE ? readNested(field.message!, undefined, entryEnd) : readValue(field.kind, entryEnd);
    } else throw CODEC_FALLBACK;
  }
  map[key] = value === undefined ? zeroValue(field) : value;
}

/** The value of a map entry that has none: the zero value of its kind, an empty message for messages. */
function zeroValue(field: FieldPlan): unknown {
  switch (field.kind) {
    case KIND_MESSAGE:
      return (field.message!.zero ?? compileZero(field.message!))();
    case KIND_STRING:
      return "";
    case KIND_BOOL:
      return false;
    case KIND_INT64:
      return protoInt64.zero;
    case KIND_BYTES:
      return new Uint8Array(0);
    default:
      return 0;
  }
}

/** One scalar or enum value, not past `end`. */
function readValue(kind: number, end: number): unknown {
  switch (kind) {
    case KIND_STRING:
      return readString(end);
    case KIND_BOOL:
      return readBool(end);
    case KIND_INT32:
    case KIND_ENUM:
      return readVarint32(end) | 0;
    case KIND_UINT32:
      return readVarint32(end) >>> 0;
    case KIND_INT64:
      return readInt64(end);
    case KIND_BYTES:
      return readBytes(end);
    default:
      throw CODEC_FALLBACK;
  }
}

function readBool(end: number): boolean {
  readVarint64(end);
  return low !== 0 || high !== 0;
}

/** An int64 as a bigint, as protoInt64.dec makes it. */
function readInt64(end: number): bigint {
  readVarint64(end);
  return high === 0 && low >= 0 ? BigInt(low) : (protoInt64.dec(low, high) as bigint);
}

/** Bytes as a view of the input, as protobuf-es's BinaryReader returns them. */
function readBytes(end: number): Uint8Array {
  const valueEnd = readLengthEnd(end);
  const value = bytes.subarray(pos, valueEnd);
  pos = valueEnd;
  return value;
}

/** A tag, checked as protobuf-es checks it (field number above 0, known wire type, fits 32 bits). */
function readTag(end: number): number {
  const start = pos;
  const tag = readVarint32(end);
  const length = pos - start;
  if (length > 5 || (length === 5 && bytes[pos - 1]! > 0x0f)) throw CODEC_FALLBACK;
  if (tag >>> 3 === 0 || (tag & 7) > 5) throw CODEC_FALLBACK;
  return tag >>> 0;
}

/** Reads a varint length and returns where the value it announces ends. */
function readLengthEnd(end: number): number {
  const length = readVarint32(end) >>> 0;
  const valueEnd = pos + length;
  if (valueEnd > end) throw CODEC_FALLBACK;
  return valueEnd;
}

/** A varint's low 32 bits (as protobuf-es's varint32read: up to 10 bytes), not past `end`. */
function readVarint32(end: number): number {
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw CODEC_FALLBACK;
    const b = bytes[pos++]!;
    result |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return result;
  }
  if (pos >= end) throw CODEC_FALLBACK;
  let b = bytes[pos++]!;
  result |= (b & 0x0f) << 28;
  for (let read = 5; (b & 0x80) !== 0; read++) {
    if (read >= 10 || pos >= end) throw CODEC_FALLBACK;
    b = bytes[pos++]!;
  }
  return result;
}

/** A varint's 64 bits, as protobuf-es's varint64read reads them, into `low` and `high`; not past `end`. */
function readVarint64(end: number): void {
  let lo = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw CODEC_FALLBACK;
    const b = bytes[pos++]!;
    lo |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      low = lo;
      high = 0;
      return;
    }
  }
  if (pos >= end) throw CODEC_FALLBACK;
  const middle = bytes[pos++]!;
  lo |= (middle & 0x0f) << 28;
  let hi = (middle & 0x70) >> 4;
  low = lo;
  high = hi;
  if ((middle & 0x80) === 0) return;
  for (let shift = 3; shift <= 31; shift += 7) {
    if (pos >= end) throw CODEC_FALLBACK;
    const b = bytes[pos++]!;
    hi |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) {
      high = hi;
      return;
    }
  }
  throw CODEC_FALLBACK;
}

/** A length-delimited string; invalid UTF-8 falls back, for protobuf-es to refuse with its own error. */
function readString(end: number): string {
  const valueEnd = readLengthEnd(end);
  const start = pos;
  pos = valueEnd;
  let i = start;
  while (i < valueEnd && bytes[i]! < 0x80) i++;
  if (i === valueEnd) return text.toString("latin1", start, valueEnd);
  try {
    return decodeUtf8(bytes.subarray(start, valueEnd), true);
  } catch {
    throw CODEC_FALLBACK;
  }
}
