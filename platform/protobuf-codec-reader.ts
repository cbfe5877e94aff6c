import { protoInt64 } from "@bufbuild/protobuf";
import { getTextEncoding } from "@bufbuild/protobuf/wire";
import {
  CODEC_FALLBACK,
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
const ASCII_FAST_PATH = 64;
const decodeUtf8 = getTextEncoding().decodeUtf8;

let bytes: Uint8Array = new Uint8Array(0);
let pos = 0;
let depth = 0;
/** The last 64-bit varint read (readVarint64), as two signed 32-bit halves. */
let low = 0;
let high = 0;

type Fields = Record<string, unknown>;

/** Decodes all of `input` as a message of `plan`; throws CODEC_FALLBACK when protobuf-es must do it. */
export function readMessageBytes(plan: MessagePlan, input: Uint8Array): Fields {
  bytes = input;
  pos = 0;
  depth = 0;
  try {
    return readFields(plan, zeroMessage(plan), input.length);
  } finally {
    bytes = new Uint8Array(0);
  }
}

/** A fresh message as protobuf-es's `create(schema)` makes it. */
function zeroMessage(plan: MessagePlan): Fields {
  const message: Fields = { $typeName: plan.typeName };
  const members = plan.zeroMembers;
  for (let i = 0; i < members.length; i++) {
    const member = members[i]!;
    switch (member.zero) {
      case "oneof":
        message[member.localName] = { case: undefined };
        break;
      case "list":
        message[member.localName] = [];
        break;
      case "map":
        message[member.localName] = {};
        break;
      case KIND_STRING:
        message[member.localName] = "";
        break;
      case KIND_BOOL:
        message[member.localName] = false;
        break;
      case KIND_INT64:
        message[member.localName] = protoInt64.zero;
        break;
      case KIND_BYTES:
        message[member.localName] = new Uint8Array(0);
        break;
      default:
        message[member.localName] = 0;
    }
  }
  return message;
}

/** Reads fields up to `end` into `message` (a fresh one, or one being merged into). */
function readFields(plan: MessagePlan, message: Fields, end: number): Fields {
  if (++depth > RECURSION_LIMIT) throw CODEC_FALLBACK;
  const byNumber = plan.byNumber;
  while (pos < end) {
    const tag = readTag(end);
    const wireType = tag & 7;
    const field = byNumber[tag >>> 3];
    if (field === undefined) throw CODEC_FALLBACK;
    switch (field.shape) {
      case SHAPE_SINGULAR:
        if (wireType !== field.valueWireType) throw CODEC_FALLBACK;
        message[field.localName] = readValue(field.kind, end);
        break;
      case SHAPE_SINGULAR_MESSAGE: {
        if (wireType !== WIRE_LENGTH_DELIMITED) throw CODEC_FALLBACK;
        const existing = message[field.localName] as Fields | undefined;
        message[field.localName] = readNested(field.message!, existing, end);
        break;
      }
      case SHAPE_ONEOF_MEMBER: {
        if (wireType !== field.valueWireType) throw CODEC_FALLBACK;
        const oneof = message[field.oneof] as { case: string | undefined; value?: unknown };
        let value: unknown;
        if (field.kind === KIND_MESSAGE) {
          const existing = oneof.case === field.localName ? (oneof.value as Fields) : undefined;
          value = readNested(field.message!, existing, end);
        } else value = readValue(field.kind, end);
        message[field.oneof] = { case: field.localName, value };
        break;
      }
      case SHAPE_LIST:
        readListItems(field, message[field.localName] as unknown[], wireType, end);
        break;
      case SHAPE_MAP:
        if (wireType !== WIRE_LENGTH_DELIMITED) throw CODEC_FALLBACK;
        readMapEntry(field, message[field.localName] as Fields, end);
        break;
    }
  }
  depth--;
  return message;
}

function readNested(plan: MessagePlan, existing: Fields | undefined, end: number): Fields {
  const nestedEnd = readLengthEnd(end);
  return readFields(plan, existing ?? zeroMessage(plan), nestedEnd);
}

/** One occurrence of a repeated field: a value, or a packed run of them. */
function readListItems(field: FieldPlan, list: unknown[], wireType: number, end: number): void {
  const kind = field.kind;
  if (kind === KIND_MESSAGE) {
    if (wireType !== WIRE_LENGTH_DELIMITED) throw CODEC_FALLBACK;
    list.push(readNested(field.message!, undefined, end));
    return;
  }
  if (wireType === field.valueWireType) {
    list.push(readValue(kind, end));
    return;
  }
  // protobuf-es reads a length-delimited run of varint values as packed, packed or not in the schema.
  if (wireType !== WIRE_LENGTH_DELIMITED || field.valueWireType !== WIRE_VARINT) throw CODEC_FALLBACK;
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
      return zeroMessage(field.message!);
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
      readVarint64(end);
      return low !== 0 || high !== 0;
    case KIND_INT32:
    case KIND_ENUM:
      return readVarint32(end) | 0;
    case KIND_UINT32:
      return readVarint32(end) >>> 0;
    case KIND_INT64:
      readVarint64(end);
      return high === 0 && low >= 0 ? BigInt(low) : (protoInt64.dec(low, high) as bigint);
    case KIND_BYTES: {
      const valueEnd = readLengthEnd(end);
      const value = bytes.subarray(pos, valueEnd);
      pos = valueEnd;
      return value;
    }
    default:
      throw CODEC_FALLBACK;
  }
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
  if (valueEnd - start <= ASCII_FAST_PATH) {
    let ascii = "";
    let i = start;
    for (; i < valueEnd; i++) {
      const b = bytes[i]!;
      if (b >= 0x80) break;
      ascii += String.fromCharCode(b);
    }
    if (i === valueEnd) return ascii;
  }
  try {
    return decodeUtf8(bytes.subarray(start, valueEnd), true);
  } catch {
    throw CODEC_FALLBACK;
  }
}
