import { ScalarType, protoInt64, type DescField, type DescMessage } from "@bufbuild/protobuf";

/**
 * The plan of a message for the compiled codec (`protobuf-codec.ts`): its fields, reduced to the
 * few facts the encoder and decoder need, worked out once per schema from the protobuf-es
 * descriptor. A schema is planned only when every message reachable from it uses nothing but
 * what the codec implements (the field kinds of our protos, proto3 semantics); any other schema
 * has no plan and stays with protobuf-es, so its semantics cannot drift.
 */

/** What one value of a field is, on the wire and in memory (plain numbers, for fast switches). */
export type ValueKind = number;
export const KIND_STRING = 0;
export const KIND_BOOL = 1;
export const KIND_INT32 = 2;
export const KIND_UINT32 = 3;
export const KIND_INT64 = 4;
export const KIND_BYTES = 5;
export const KIND_ENUM = 6;
export const KIND_MESSAGE = 7;

/** How a field holds its values. */
export type FieldShape = number;
/** One value, implicit presence: the zero value is not written. */
export const SHAPE_SINGULAR = 0;
/** A singular message field: present when set. */
export const SHAPE_SINGULAR_MESSAGE = 1;
/** A member of a oneof: present when the oneof's case names it, zero value or not. */
export const SHAPE_ONEOF_MEMBER = 2;
/** A repeated field. */
export const SHAPE_LIST = 3;
/** A map with string keys. */
export const SHAPE_MAP = 4;

/** Wire types (protobuf encoding spec). */
export const WIRE_VARINT = 0;
export const WIRE_LENGTH_DELIMITED = 2;

export interface FieldPlan {
  readonly localName: string;
  readonly number: number;
  readonly shape: FieldShape;
  /** The kind of each value (of the map's values for a map). */
  readonly kind: ValueKind;
  /** The oneof's property name, for a oneof member. */
  readonly oneof: string;
  /** Repeated scalars written as one length-delimited run. */
  readonly packed: boolean;
  /** The tag written before each value: `number << 3 | wire type`, or the packed run's tag. */
  readonly tag: number;
  /** The wire type of one value of `kind`. */
  readonly valueWireType: number;
  /** The message's plan, for message values. */
  message: MessagePlan | undefined;
}

/** What a fresh message sets before any field is read (protobuf-es's zero message). */
export interface ZeroMember {
  readonly localName: string;
  /** `oneof`, `list`, `map`, or the kind of an implicit-presence scalar. */
  readonly zero: "oneof" | "list" | "map" | ValueKind;
}

export interface MessagePlan {
  readonly typeName: string;
  /** Fields in field-number order: the order protobuf-es writes them in. */
  readonly fields: FieldPlan[];
  /** Fields by number, for the decoder. */
  readonly byNumber: (FieldPlan | undefined)[];
  /** The properties of a zero message, in declaration order. */
  readonly zeroMembers: ZeroMember[];
  /** The encoder compiled from this plan (protobuf-codec-writer.ts), once first used. */
  writer: ((message: Record<string, unknown>, isMessage: boolean) => void) | undefined;
  /** The decoder compiled from this plan (protobuf-codec-reader.ts), once first used. */
  reader: ((message: Record<string, unknown>, end: number) => Record<string, unknown>) | undefined;
  /** Makes a zero message of this plan (protobuf-codec-reader.ts), once first used. */
  zero: (() => Record<string, unknown>) | undefined;
}

/** Thrown by the encoder and decoder when protobuf-es must handle the whole message instead. */
export const CODEC_FALLBACK: unique symbol = Symbol("protobuf-codec fallback");

/**
 * `new Function(...params, body)`, for the code the writer and reader compile from a plan (from
 * descriptor names, quoted with JSON.stringify). Where code generation from strings is disallowed
 * (`--disallow-code-generation-from-strings`), throws CODEC_FALLBACK, so protobuf-es does the work.
 */
export function compiledFunction(params: string[], body: string): (...args: unknown[]) => unknown {
  try {
    return new Function(...params, body) as (...args: unknown[]) => unknown;
  } catch {
    throw CODEC_FALLBACK;
  }
}

const EDITION_PROTO3 = 999;
const IMPLICIT_PRESENCE = 2;
/** protobuf-es represents these differently in memory (unboxed or JSON), so the codec leaves them alone. */
const SPECIAL_TYPES = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);
const WRAPPERS_FILE = "google/protobuf/wrappers";
/** Field numbers at or above this go through protobuf-es (keeps `byNumber` a small array). */
const MAX_PLANNED_FIELD_NUMBER = 1 << 12;

const plans = new WeakMap<DescMessage, MessagePlan | null>();

/**
 * The plan of `schema`, or undefined when the codec does not support it (then protobuf-es
 * encodes and decodes it). Built once per schema.
 */
export function messagePlan(schema: DescMessage): MessagePlan | undefined {
  let plan = plans.get(schema);
  if (plan === undefined) {
    plan = supportsAllReachable(schema) ? buildPlans(schema, new Map()) : null;
    plans.set(schema, plan);
  }
  return plan ?? undefined;
}

/** Whether every message reachable from `root` (itself included) uses only supported fields. */
function supportsAllReachable(root: DescMessage): boolean {
  if (!protoInt64.supported) return false;
  const seen = new Set<DescMessage>([root]);
  const queue = [root];
  for (let message = queue.pop(); message; message = queue.pop()) {
    if (!supportsMessage(message)) return false;
    for (const field of message.fields) {
      const child = field.message;
      if (child && !seen.has(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
  return true;
}

function supportsMessage(message: DescMessage): boolean {
  if (message.file.edition !== EDITION_PROTO3) return false;
  if (SPECIAL_TYPES.has(message.typeName) || message.file.name === WRAPPERS_FILE) return false;
  // The compiled code names properties in literals, where "__proto__" would set the prototype.
  if (message.members.some((m) => m.localName === "__proto__")) return false;
  return message.fields.every(supportsField);
}

function supportsField(field: DescField): boolean {
  if (field.number >= MAX_PLANNED_FIELD_NUMBER) return false;
  switch (field.fieldKind) {
    case "scalar":
      return scalarKind(field.scalar, field.longAsString) !== undefined && (field.oneof !== undefined || field.presence === IMPLICIT_PRESENCE);
    case "enum":
      return field.enum.open && (field.oneof !== undefined || field.presence === IMPLICIT_PRESENCE);
    case "message":
      return !field.delimitedEncoding;
    case "list":
      if (field.listKind === "message") return !field.delimitedEncoding;
      if (field.listKind === "enum") return field.enum.open;
      return scalarKind(field.scalar, field.longAsString) !== undefined;
    case "map":
      if (field.mapKey !== ScalarType.STRING) return false;
      if (field.mapKind === "message") return true;
      if (field.mapKind === "enum") return field.enum.open;
      return scalarKind(field.scalar, false) !== undefined;
  }
}

function scalarKind(scalar: ScalarType, longAsString: boolean): ValueKind | undefined {
  switch (scalar) {
    case ScalarType.STRING:
      return KIND_STRING;
    case ScalarType.BOOL:
      return KIND_BOOL;
    case ScalarType.INT32:
      return KIND_INT32;
    case ScalarType.UINT32:
      return KIND_UINT32;
    case ScalarType.INT64:
      return longAsString ? undefined : KIND_INT64;
    case ScalarType.BYTES:
      return KIND_BYTES;
    default:
      return undefined;
  }
}

/** Plans `message` and every message it reaches; `built` lets recursive messages share one plan. */
function buildPlans(message: DescMessage, built: Map<DescMessage, MessagePlan>): MessagePlan {
  const existing = built.get(message);
  if (existing) return existing;
  const plan: MessagePlan = {
    typeName: message.typeName,
    fields: [],
    byNumber: [],
    zeroMembers: [],
    writer: undefined,
    reader: undefined,
    zero: undefined,
  };
  built.set(message, plan);
  for (const member of message.members) {
    if (member.kind === "oneof") plan.zeroMembers.push({ localName: member.localName, zero: "oneof" });
    else if (member.fieldKind === "list") plan.zeroMembers.push({ localName: member.localName, zero: "list" });
    else if (member.fieldKind === "map") plan.zeroMembers.push({ localName: member.localName, zero: "map" });
    else if (member.fieldKind !== "message") plan.zeroMembers.push({ localName: member.localName, zero: valueKind(member) });
  }
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
    const fieldPlan = planField(field);
    if (fieldPlan.kind === KIND_MESSAGE) fieldPlan.message = buildPlans(field.message!, built);
    plan.fields.push(fieldPlan);
    plan.byNumber[field.number] = fieldPlan;
  }
  return plan;
}

function planField(field: DescField): FieldPlan {
  const kind = valueKind(field);
  const valueWireType = kind === KIND_STRING || kind === KIND_BYTES || kind === KIND_MESSAGE ? WIRE_LENGTH_DELIMITED : WIRE_VARINT;
  const packed = field.fieldKind === "list" && field.packed && valueWireType === WIRE_VARINT;
  const shape =
    field.fieldKind === "list"
      ? SHAPE_LIST
      : field.fieldKind === "map"
        ? SHAPE_MAP
        : field.oneof
          ? SHAPE_ONEOF_MEMBER
          : field.fieldKind === "message"
            ? SHAPE_SINGULAR_MESSAGE
            : SHAPE_SINGULAR;
  const wireType = packed || shape === SHAPE_MAP ? WIRE_LENGTH_DELIMITED : valueWireType;
  return {
    localName: field.localName,
    number: field.number,
    shape,
    kind,
    oneof: field.oneof?.localName ?? "",
    packed,
    tag: ((field.number << 3) | wireType) >>> 0,
    valueWireType,
    message: undefined,
  };
}

/** The kind of one value of `field` (of its map values for a map). */
function valueKind(field: DescField): ValueKind {
  switch (field.fieldKind) {
    case "scalar":
      return scalarKind(field.scalar, field.longAsString)!;
    case "enum":
      return KIND_ENUM;
    case "message":
      return KIND_MESSAGE;
    case "list":
      return field.listKind === "message" ? KIND_MESSAGE : field.listKind === "enum" ? KIND_ENUM : scalarKind(field.scalar, field.longAsString)!;
    case "map":
      return field.mapKind === "message" ? KIND_MESSAGE : field.mapKind === "enum" ? KIND_ENUM : scalarKind(field.scalar, false)!;
  }
}
