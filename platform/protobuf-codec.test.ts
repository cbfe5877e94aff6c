import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ScalarType, create, fromBinary, toBinary, type DescField, type DescFile, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { decode, encode } from "./protobuf-codec.js";
import { CODEC_FALLBACK, messagePlan } from "./protobuf-codec-plan.js";
import { writeMessageBytes } from "./protobuf-codec-writer.js";
import { readMessageBytes } from "./protobuf-codec-reader.js";

/** Every generated file under gen/, imported. */
const genDir = fileURLToPath(new URL("../gen/", import.meta.url));
const genFiles: DescFile[] = [];
for (const path of readdirSync(genDir, { recursive: true, encoding: "utf8" })
  .filter((p) => p.endsWith("_pb.ts"))
  .sort()) {
  const module = (await import(new URL(`../gen/${path}`, import.meta.url).href)) as Record<string, unknown>;
  for (const [name, value] of Object.entries(module)) if (name.startsWith("file_")) genFiles.push(value as DescFile);
}

/** Every message of every generated file, nested ones included, and every message their fields reach (Timestamp). */
const schemas: DescMessage[] = [];
{
  const seen = new Set<string>();
  const add = (message: DescMessage): void => {
    if (seen.has(message.typeName)) return;
    seen.add(message.typeName);
    schemas.push(message);
    message.nestedMessages.forEach(add);
    for (const field of message.fields) if (field.message) add(field.message);
  };
  for (const file of genFiles) file.messages.forEach(add);
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

const strings = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ unit: "binary", minLength: 40, maxLength: 300 }),
  fc.constantFrom("", "é", "日本語の文字列", "👍🏽 emoji 🚀", "\uD800", "a\uDFFFb", "\uFEFFbom", "x".repeat(43), "é".repeat(70)),
);
const int64s = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -1000n, max: 1000n }),
  fc.constantFrom(0n, -1n, 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n), 2n ** 32n, 2n ** 31n),
);
const int32s = fc.oneof(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.constantFrom(0, -1, INT32_MIN, INT32_MAX, 127, 128));
const uint32s = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 127, 128, 0xffffffff));
const bytesValues = fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ minLength: 120, maxLength: 400 }));

/** An arbitrary value of one scalar or enum, as `create` accepts it. */
function scalarValue(field: DescField): fc.Arbitrary<unknown> {
  if (field.enum) return fc.oneof(fc.constantFrom(...field.enum.values.map((v) => v.number)), int32s);
  switch (field.scalar) {
    case ScalarType.STRING:
      return strings;
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
      return int32s;
    case ScalarType.UINT32:
      return uint32s;
    case ScalarType.INT64:
      return int64s;
    case ScalarType.BYTES:
      return bytesValues;
    default:
      throw new Error(`no generator for ${String(field)}: add one`);
  }
}

/** An arbitrary init object of `schema`: each field absent or set, each oneof unset or one of its cases. */
function initOf(schema: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const nested = (message: DescMessage) => initOf(message, depth + 1);
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of schema.members) {
    if (member.kind === "oneof") {
      record[member.localName] = fc.oneof(
        fc.constant({ case: undefined }),
        ...member.fields.map((f) => (f.message ? nested(f.message) : scalarValue(f)).map((value) => ({ case: f.localName, value }))),
      );
      continue;
    }
    switch (member.fieldKind) {
      case "message":
        record[member.localName] = depth > 3 ? fc.constant({}) : nested(member.message);
        break;
      case "list":
        record[member.localName] = fc.array(member.message ? nested(member.message) : scalarValue(member), { maxLength: depth > 2 ? 1 : 4 });
        break;
      case "map":
        record[member.localName] = fc.dictionary(strings, member.message ? nested(member.message) : scalarValue(member), { maxKeys: 4 });
        break;
      default:
        record[member.localName] = scalarValue(member);
    }
  }
  return fc.record(record, { requiredKeys: [] });
}

/** What a call returns or throws, comparable across implementations. */
function outcome<T>(run: () => T): { value: T } | { error: string } {
  try {
    return { value: run() };
  } catch (err) {
    return { error: `${(err as Error).constructor.name}: ${(err as Error).message}` };
  }
}

const runs = { numRuns: 40 };
/** Property tests run their 40 cases in well under a second; this is for a machine under heavy load. */
const PROPERTY_TEST_TIMEOUT_MS = 60_000;

/** The codec writes into Node Buffers (Uint8Arrays from a pool); compared as plain Uint8Arrays. */
const plainBytes = (bytes: Uint8Array): Uint8Array => new Uint8Array(bytes);

describe("protobuf-codec", () => {
  it("plans every generated message (so none silently stays on protobuf-es)", () => {
    expect(schemas.length).toBeGreaterThan(60);
    expect(schemas.filter((s) => messagePlan(s) === undefined).map((s) => s.typeName)).toEqual([]);
  });

  it("leaves what it does not support to protobuf-es (a proto2 schema)", () => {
    expect(messagePlan(FileDescriptorProtoSchema)).toBeUndefined();
    const file = create(FileDescriptorProtoSchema, { name: "a.proto", package: "a", messageType: [{ name: "M" }] });
    const bytes = encode(FileDescriptorProtoSchema, file);
    expect(plainBytes(bytes)).toEqual(toBinary(FileDescriptorProtoSchema, file));
    expect(decode(FileDescriptorProtoSchema, bytes)).toStrictEqual(fromBinary(FileDescriptorProtoSchema, bytes));
  });

  describe.each(schemas.map((schema) => [schema.typeName, schema] as const))("%s", (_name, schema) => {
    const plan = messagePlan(schema)!;

    it(
      "encodes init objects and messages into protobuf-es's bytes, and decodes them into its objects, without falling back",
      () => {
        fc.assert(
          fc.property(initOf(schema), (init) => {
            const message = create(schema, init);
            const expected = toBinary(schema, message);
            expect(plainBytes(writeMessageBytes(plan, init))).toEqual(expected);
            expect(plainBytes(writeMessageBytes(plan, message))).toEqual(expected);
            expect(plainBytes(encode(schema, init))).toEqual(expected);
            expect(plainBytes(encode(schema, message))).toEqual(expected);
            expect(readMessageBytes(plan, expected)).toStrictEqual(fromBinary(schema, expected));
            expect(decode(schema, expected)).toStrictEqual(fromBinary(schema, expected));
            expect(decode(schema, Buffer.from(expected))).toStrictEqual(fromBinary(schema, Buffer.from(expected)));
          }),
          runs,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      "decodes concatenated messages as protobuf-es merges them (last value wins, lists append, messages merge)",
      () => {
        fc.assert(
          fc.property(initOf(schema), initOf(schema), (a, b) => {
            const bytes = Buffer.concat([encode(schema, a), encode(schema, b)]);
            expect(decode(schema, bytes)).toStrictEqual(fromBinary(schema, bytes));
          }),
          runs,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      "decodes truncated, corrupted and unknown-field bytes exactly as protobuf-es does (value or error)",
      () => {
        fc.assert(
          fc.property(initOf(schema), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), (init, cutAt, flipAt, byte) => {
            const bytes = encode(schema, init);
            const same = (input: Uint8Array): void => {
              expect(outcome(() => decode(schema, input))).toStrictEqual(outcome(() => fromBinary(schema, input)));
            };
            same(bytes.subarray(0, bytes.length === 0 ? 0 : cutAt % bytes.length));
            if (bytes.length > 0) {
              const corrupted = bytes.slice();
              corrupted[flipAt % bytes.length] = byte;
              same(corrupted);
            }
            for (const unknown of [
              [0xb8, 0x3e, 0x05],
              [0xba, 0x3e, 0x01, 0x61],
              [0xbd, 0x3e, 1, 2, 3, 4],
              [0xb9, 0x3e, 1, 2, 3, 4, 5, 6, 7, 8],
            ]) {
              same(Buffer.concat([bytes, Buffer.from(unknown)]));
            }
          }),
          runs,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      "decodes random bytes exactly as protobuf-es does (value or error)",
      () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
            expect(outcome(() => decode(schema, bytes))).toStrictEqual(outcome(() => fromBinary(schema, bytes)));
          }),
          runs,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );
  });

  it("writes and reads messages longer than 127 bytes and strings longer than 42 characters (length prefixes of several bytes)", () => {
    const schema = schemas.find((s) => s.typeName === "saga.orchestrator.v1.StartSagaResponse")!;
    const init = {
      saga: {
        sagaId: "s".repeat(300),
        steps: Array.from({ length: 50 }, (_, i) => ({ name: `step ${i} ${"é".repeat(i)}`, attempts: i })),
        order: { customerId: "c", items: [{ productId: "p", quantity: 2 }] },
      },
      created: true,
    };
    const expected = toBinary(schema, create(schema, init));
    expect(expected.length).toBeGreaterThan(2000);
    expect(plainBytes(encode(schema, init))).toEqual(expected);
    expect(decode(schema, expected)).toStrictEqual(fromBinary(schema, expected));
  });

  it("reads repeated scalars packed, unpacked and mixed, as protobuf-es does", () => {
    const schema = schemas.find((s) => s.typeName === "saga.orchestrator.v1.ListSagasRequest")!;
    for (const bytes of [
      [0x08, 0x01, 0x08, 0x02],
      [0x0a, 0x02, 0x01, 0x02, 0x08, 0x03],
      [0x0a, 0x00],
      [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    ]) {
      expect(decode(schema, new Uint8Array(bytes))).toStrictEqual(fromBinary(schema, new Uint8Array(bytes)));
    }
  });

  it("reads bools from long varints as protobuf-es does (bits past 64 dropped)", () => {
    const schema = schemas.find((s) => s.typeName === "saga.orchestrator.v1.StartSagaResponse")!;
    for (const bytes of [
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x10],
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02],
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
      [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
    ]) {
      const input = new Uint8Array(bytes);
      expect(outcome(() => decode(schema, input))).toStrictEqual(outcome(() => fromBinary(schema, input)));
    }
  });

  it("refuses invalid UTF-8 with protobuf-es's error", () => {
    const schema = schemas.find((s) => s.typeName === "saga.payments.v1.GetAccountRequest")!;
    const bytes = new Uint8Array([0x0a, 0x02, 0xc3, 0x28]);
    const expected = outcome(() => fromBinary(schema, bytes));
    expect(expected).toHaveProperty("error");
    expect(outcome(() => decode(schema, bytes))).toStrictEqual(expected);
  });

  it("hands values create() would convert or protobuf-es would refuse to protobuf-es", () => {
    const schema = schemas.find((s) => s.typeName === "saga.payments.v1.AuthorizePaymentRequest")!;
    const plan = messagePlan(schema)!;
    for (const init of [{ amountCents: "12" }, { amountCents: 1.5 }, { amountCents: 2n ** 64n }, { customerId: 5 }, { idempotencyKey: null }]) {
      const fast = outcome(() => writeMessageBytes(plan, init));
      if ("error" in fast) expect(fast.error).toBeDefined();
      expect(outcome(() => plainBytes(encode(schema, init)))).toStrictEqual(outcome(() => toBinary(schema, create(schema, init as never))));
    }
    expect(() => writeMessageBytes(plan, { amountCents: "12" })).toThrow();
    try {
      writeMessageBytes(plan, { amountCents: "12" });
    } catch (err) {
      expect(err).toBe(CODEC_FALLBACK);
    }
  });
});
