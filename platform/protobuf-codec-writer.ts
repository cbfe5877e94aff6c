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
  type FieldPlan,
  type MessagePlan,
} from "./protobuf-codec-plan.js";

/**
 * The encoder of the compiled codec: writes a message, given as a protobuf-es message or as the
 * init object `create()` accepts, straight into one scratch buffer, in the bytes
 * `toBinary(schema, create(schema, value))` writes (fields by number, implicit-presence zero
 * values skipped, repeated scalars packed). Whatever it does not handle exactly as protobuf-es
 * would (a value of an unexpected type, a message with unknown fields, an init value `create`
 * would convert) makes it throw CODEC_FALLBACK, and the caller lets protobuf-es encode.
 *
 * Lengths of nested messages are not known in advance: one byte is reserved, and the content
 * moved along when its length needs more (rare: messages over 127 bytes).
 */

const INITIAL_SCRATCH_BYTES = 4096;
/** A scratch buffer grown past this for a large message is dropped after it, not kept. */
const KEPT_SCRATCH_BYTES = 1 << 20;
/** Strings up to this many UTF-16 units are encoded here; longer ones by TextEncoder.encodeInto. */
const SHORT_STRING = 42;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

let buf = new Uint8Array(INITIAL_SCRATCH_BYTES);
let pos = 0;
const textEncoder = new TextEncoder();
const int64View = new DataView(new ArrayBuffer(8));

type Fields = Record<string, unknown>;

type Writer = (message: Fields, isMessage: boolean) => void;

/** Encodes `value` as a message of `plan`; throws CODEC_FALLBACK when protobuf-es must do it. */
export function writeMessageBytes(plan: MessagePlan, value: unknown): Buffer {
  if (typeof value !== "object" || value === null) throw CODEC_FALLBACK;
  pos = 0;
  (plan.writer ?? compileWriter(plan))(value as Fields, (value as Fields).$typeName === plan.typeName);
  // A Buffer from Node's pool: a third of the cost of slice(), which allocates a new ArrayBuffer.
  const bytes = Buffer.allocUnsafe(pos);
  bytes.set(buf.subarray(0, pos));
  if (buf.length > KEPT_SCRATCH_BYTES) buf = new Uint8Array(INITIAL_SCRATCH_BYTES);
  return bytes;
}

/** The names the compiled writers see, and what they are. */
const WRITER_HELPERS = {
  FALLBACK: CODEC_FALLBACK,
  hasOwn: (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key),
  writeTag,
  writeNested,
  writeValue,
  writeList,
  writeMapField,
};

/**
 * Compiles the writer of `plan`'s fields, as protobufjs generates its encoders: one function per
 * message with each field's property read by name (fast, where a loop over the plan reads every
 * property through one megamorphic lookup), calling the shared writers of this module.
 *
 * `isMessage`: obj is a protobuf-es message of this type, which protobuf-es encodes as it is (so
 * an unset implicit field there is not "absent" but an error or a zero written); otherwise obj
 * is an init object, whose null/undefined fields are unset, as `create` has it.
 */
function compileWriter(plan: MessagePlan): Writer {
  const lines = ["if (isMessage) { const unknown = obj.$unknown; if (unknown !== undefined && unknown.length > 0) throw FALLBACK; }", "let v, o;"];
  const absent = "if (isMessage) throw FALLBACK;";
  plan.fields.forEach((field, i) => {
    const name = JSON.stringify(field.localName);
    switch (field.shape) {
      case SHAPE_SINGULAR:
        lines.push(
          `v = obj[${name}]; if (v == null) { ${absent} } else if (${isNotZero(field.kind)}) { writeTag(${field.tag}); writeValue(${field.kind}, v); }`,
        );
        break;
      case SHAPE_SINGULAR_MESSAGE:
        lines.push(
          `v = obj[${name}]; if (v === null) { ${absent} } else if (v !== undefined && (!isMessage || hasOwn(obj, ${name}))) { writeTag(${field.tag}); writeNested(M[${i}], v, isMessage); }`,
        );
        break;
      case SHAPE_ONEOF_MEMBER: {
        const write = field.kind === KIND_MESSAGE ? `writeNested(M[${i}], v, isMessage)` : `writeValue(${field.kind}, v)`;
        lines.push(
          `o = obj[${JSON.stringify(field.oneof)}]; if (o == null) { ${absent} } else if (o.case === ${name}) { v = o.value; if (v == null) throw FALLBACK; writeTag(${field.tag}); ${write}; }`,
        );
        break;
      }
      case SHAPE_LIST:
        lines.push(
          `v = obj[${name}]; if (v == null) { ${absent} } else { if (!Array.isArray(v)) throw FALLBACK; if (v.length > 0) writeList(F[${i}], v, isMessage); }`,
        );
        break;
      case SHAPE_MAP:
        lines.push(`v = obj[${name}]; if (v == null) { ${absent} } else writeMapField(F[${i}], v, isMessage);`);
        break;
    }
  });
  const names = Object.keys(WRITER_HELPERS);
  const factory = compiledFunction(["F", "M", ...names], `return function write(obj, isMessage) {\n${lines.join("\n")}\n};`) as (
    ...args: unknown[]
  ) => Writer;
  const writer = factory(
    plan.fields,
    plan.fields.map((f) => f.message),
    ...Object.values(WRITER_HELPERS),
  );
  plan.writer = writer;
  return writer;
}

/** The test, on `v`, for a value protobuf-es writes: not the zero value of an implicit-presence field. */
function isNotZero(kind: number): string {
  switch (kind) {
    case KIND_STRING:
      return `v !== ""`;
    case KIND_BOOL:
      return `v !== false`;
    case KIND_BYTES:
      return `!(v instanceof Uint8Array && v.byteLength === 0)`;
    case KIND_ENUM:
      // proto3 enums start at 0, and protobuf-es compares strictly.
      return `v !== 0`;
    default:
      // protobuf-es's own test: loose, so 0, 0n and "0" are all zero.
      return `v != 0`;
  }
}

/** A message value: `isParentMessage` says whether it sits in a message (then it must be one). */
function writeNested(plan: MessagePlan, v: unknown, isParentMessage: boolean): void {
  if (typeof v !== "object" || v === null) throw CODEC_FALLBACK;
  const isMessage = (v as Fields).$typeName === plan.typeName;
  if (isParentMessage && !isMessage) throw CODEC_FALLBACK;
  const start = reserveLength();
  (plan.writer ?? compileWriter(plan))(v as Fields, isMessage);
  finishLength(start);
}

function writeList(field: FieldPlan, list: unknown[], isMessage: boolean): void {
  const kind = field.kind;
  if (field.packed) {
    writeTag(field.tag);
    const start = reserveLength();
    for (let i = 0; i < list.length; i++) writeValue(kind, list[i]);
    finishLength(start);
    return;
  }
  for (let i = 0; i < list.length; i++) {
    writeTag(field.tag);
    if (kind === KIND_MESSAGE) writeNested(field.message!, list[i], isMessage);
    else writeValue(kind, list[i]);
  }
}

/** A map field's entries, in the object's key order (protobuf-es iterates Object.entries): key 1, value 2, both always written. */
function writeMapField(field: FieldPlan, map: unknown, isMessage: boolean): void {
  if (typeof map !== "object" || map === null) throw CODEC_FALLBACK;
  const proto: unknown = Object.getPrototypeOf(map);
  if (proto !== Object.prototype && proto !== null) throw CODEC_FALLBACK;
  writeEntries(field, map as Fields, isMessage);
}

function writeEntries(field: FieldPlan, map: Fields, isMessage: boolean): void {
  const keyTag = (1 << 3) | 2;
  const valueTag = (2 << 3) | field.valueWireType;
  for (const key of Object.keys(map)) {
    const v = map[key];
    if (v == null) throw CODEC_FALLBACK;
    writeTag(field.tag);
    const start = reserveLength();
    writeTag(keyTag);
    writeString(key);
    writeTag(valueTag);
    if (field.kind === KIND_MESSAGE) writeNested(field.message!, v, isMessage);
    else writeValue(field.kind, v);
    finishLength(start);
  }
}

/** One value of a scalar or enum kind, checked as protobuf-es's BinaryWriter would, without its tag. */
function writeValue(kind: number, v: unknown): void {
  switch (kind) {
    case KIND_STRING:
      if (typeof v !== "string") throw CODEC_FALLBACK;
      writeString(v);
      return;
    case KIND_BOOL:
      if (typeof v !== "boolean") throw CODEC_FALLBACK;
      ensure(1);
      buf[pos++] = v ? 1 : 0;
      return;
    case KIND_INT32:
    case KIND_ENUM:
      if (typeof v !== "number" || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) throw CODEC_FALLBACK;
      if (v >= 0) writeVarint32(v);
      else writeVarint64(v >>> 0, -1);
      return;
    case KIND_UINT32:
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) throw CODEC_FALLBACK;
      writeVarint32(v);
      return;
    case KIND_INT64:
      writeInt64(v);
      return;
    case KIND_BYTES:
      if (!(v instanceof Uint8Array)) throw CODEC_FALLBACK;
      writeVarint32(v.byteLength);
      ensure(v.byteLength);
      buf.set(v, pos);
      pos += v.byteLength;
      return;
    default:
      throw CODEC_FALLBACK;
  }
}

/** An int64 given as a bigint or a safe-integer number (other forms go to protobuf-es). */
function writeInt64(v: unknown): void {
  let n: number;
  if (typeof v === "bigint") {
    // Exact when safe; a bigint outside the safe range never rounds into it.
    n = Number(v);
    if (!Number.isSafeInteger(n)) {
      if (v < INT64_MIN || v > INT64_MAX) throw CODEC_FALLBACK;
      int64View.setBigInt64(0, v, true);
      writeVarint64(int64View.getUint32(0, true), int64View.getInt32(4, true));
      return;
    }
  } else if (typeof v === "number" && Number.isSafeInteger(v)) n = v;
  else throw CODEC_FALLBACK;
  if (n >= 0 && n <= UINT32_MAX) writeVarint32(n);
  else writeVarint64(n >>> 0, Math.floor(n / 0x100000000) | 0);
}

function writeTag(tag: number): void {
  if (tag < 0x80) {
    ensure(1);
    buf[pos++] = tag;
  } else writeVarint32(tag);
}

/** An unsigned 32-bit varint. */
function writeVarint32(value: number): void {
  ensure(5);
  while (value > 0x7f) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = value >>> 7;
  }
  buf[pos++] = value;
}

/** A 64-bit varint from its low and high 32 bits, as protobuf-es's varint64write. */
function writeVarint64(lo: number, hi: number): void {
  ensure(10);
  for (let i = 0; i < 28; i = i + 7) {
    const shift = lo >>> i;
    const hasNext = !(shift >>> 7 === 0 && hi === 0);
    buf[pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
    if (!hasNext) return;
  }
  const splitBits = ((lo >>> 28) & 0x0f) | ((hi & 0x07) << 4);
  const hasMoreBits = !(hi >> 3 === 0);
  buf[pos++] = (hasMoreBits ? splitBits | 0x80 : splitBits) & 0xff;
  if (!hasMoreBits) return;
  for (let i = 3; i < 31; i = i + 7) {
    const shift = hi >>> i;
    const hasNext = !(shift >>> 7 === 0);
    buf[pos++] = (hasNext ? shift | 0x80 : shift) & 0xff;
    if (!hasNext) return;
  }
  buf[pos++] = (hi >>> 31) & 0x01;
}

/** A length-delimited UTF-8 string, as TextEncoder encodes it (a lone surrogate becomes U+FFFD). */
function writeString(s: string): void {
  const length = s.length;
  if (length > SHORT_STRING) {
    ensure(length * 3 + 5);
    const start = reserveLength();
    pos += textEncoder.encodeInto(s, buf.subarray(pos)).written;
    finishLength(start);
    return;
  }
  ensure(length * 3 + 1);
  const start = pos++;
  for (let i = 0; i < length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        buf[pos++] = 0xf0 | (c >> 18);
        buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
        buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
        buf[pos++] = 0x80 | (c & 0x3f);
      } else {
        buf[pos++] = 0xef;
        buf[pos++] = 0xbf;
        buf[pos++] = 0xbd;
      }
    } else {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  // At most 42 × 3 = 126 bytes: the length fits the one byte reserved.
  buf[start] = pos - start - 1;
}

/** Reserves one byte for a length prefix; returns where it is. */
function reserveLength(): number {
  ensure(1);
  return pos++;
}

/** Writes the length of what follows the byte reserved at `start`, moving the content if it takes more. */
function finishLength(start: number): void {
  const length = pos - start - 1;
  if (length < 0x80) {
    buf[start] = length;
    return;
  }
  const extra = varintSize(length) - 1;
  ensure(extra);
  buf.copyWithin(start + 1 + extra, start + 1, pos);
  pos += extra;
  let at = start;
  let value = length;
  while (value > 0x7f) {
    buf[at++] = (value & 0x7f) | 0x80;
    value = value >>> 7;
  }
  buf[at] = value;
}

function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Makes room for `bytes` more bytes. */
function ensure(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + bytes) size *= 2;
  const grown = new Uint8Array(size);
  grown.set(buf.subarray(0, pos));
  buf = grown;
}
