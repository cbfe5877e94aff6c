import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FileRegistry } from "@bufbuild/protobuf";
import { checkContracts, formatProblem, type ContractProblem, type ContractRule } from "./check-contracts.js";
import { buildImage, copyFixtures, type FixtureTree } from "./fixture-image.js";

// Each file of contracts/testdata/broken breaks one rule on purpose; valid/ledger.proto keeps them all.
let tree: FixtureTree;
let registry: FileRegistry;
let problems: ContractProblem[];

beforeAll(async () => {
  tree = copyFixtures();
  registry = await buildImage(tree);
  problems = checkContracts(registry);
});
afterAll(() => tree.remove());

const of = (fixture: string): Array<{ rpc: string; rule: ContractRule; message: string }> =>
  problems.filter((p) => p.file === `broken/${fixture}.proto`).map(({ rpc, rule, message }) => ({ rpc, rule, message }));

describe("checkContracts", () => {
  it("finds nothing wrong in a contract that keeps every rule, nor in files without the option", () => {
    expect(problems.filter((p) => !p.file.startsWith("broken/"))).toEqual([]);
    expect(registry.getFile("valid/ledger.proto")?.services[0]?.methods).toHaveLength(8);
  });

  it("names file, service, RPC and rule on every problem", () => {
    const [first] = problems.filter((p) => p.file === "broken/missing-option.proto");
    expect(first).toMatchObject({ file: "broken/missing-option.proto", service: "saga.fixture.broken.missing_option.v1.BrokenService", rpc: "Peek" });
    expect(formatProblem(first!)).toBe(
      "broken/missing-option.proto: saga.fixture.broken.missing_option.v1.BrokenService.Peek: carries no (saga.options.v1.saga) option, but other RPCs of BrokenService do: every unary RPC needs one [missing-option]",
    );
  });

  it("a unary RPC without the option in a service that uses it", () => {
    expect(of("missing-option")).toEqual([
      { rpc: "Peek", rule: "missing-option", message: expect.stringContaining("carries no (saga.options.v1.saga) option") },
    ]);
  });

  it("a streaming RPC that is not TRANSPORT", () => {
    expect(of("streaming-not-transport")).toEqual([
      { rpc: "Watch", rule: "streaming-not-transport", message: "is server-streaming with role READ; a streaming RPC may only be TRANSPORT" },
    ]);
  });

  it("an option without a role, and a role the enum does not have", () => {
    expect(of("unknown-role")).toEqual([
      { rpc: "Peek", rule: "unknown-role", message: expect.stringContaining("has role UNSPECIFIED") },
      { rpc: "Poke", rule: "unknown-role", message: expect.stringContaining("has role 9") },
    ]);
  });

  it("an ACTION without a compensation", () => {
    expect(of("missing-compensation")).toEqual([
      { rpc: "Hold", rule: "missing-compensation", message: expect.stringContaining("without a compensation") },
    ]);
  });

  it("an ACTION marked no_side_effect that names a compensation", () => {
    expect(of("no-side-effect-with-compensation")).toEqual([
      { rpc: "Stamp", rule: "no-side-effect-with-compensation", message: 'is no_side_effect but names compensation "Release"' },
    ]);
  });

  it("a compensation that is not an RPC of the service", () => {
    expect(of("unknown-method")).toEqual([
      { rpc: "Hold", rule: "unknown-method", message: 'names compensation "Undo", which is not an RPC of BrokenService' },
    ]);
  });

  it("a compensation whose role is not COMPENSATION", () => {
    expect(of("wrong-role")).toEqual([
      { rpc: "Hold", rule: "wrong-role", message: 'names compensation "Settle", which has role CONFIRMATION; it must have role COMPENSATION' },
    ]);
  });

  it("a READ that names a compensation", () => {
    expect(of("not-an-action")).toEqual([
      { rpc: "Peek", rule: "not-an-action", message: 'has role READ but sets compensation "Release", which only an ACTION may' },
    ]);
  });

  it("a COMPENSATION that no action names", () => {
    expect(of("dangling")).toEqual([
      { rpc: "Refund", rule: "dangling", message: "is a COMPENSATION that no ACTION of BrokenService names as its compensation" },
    ]);
  });

  it("a key field the request lacks, and a compensation that names none", () => {
    expect(of("missing-key-field")).toEqual([
      {
        rpc: "Hold",
        rule: "missing-key-field",
        message: 'names idempotency_key_field "key", but its request saga.fixture.broken.missing_key_field.v1.KeyRequest has no such field',
      },
      { rpc: "Release", rule: "missing-key-field", message: expect.stringContaining("sets no idempotency_key_field") },
    ]);
  });

  it("a key field that is not a singular string", () => {
    expect(of("key-field-type")).toEqual([
      { rpc: "Hold", rule: "key-field-type", message: expect.stringContaining('"k" of type int64') },
      { rpc: "Hold", rule: "key-field-mismatch", message: 'has key field "k" of type int64, but its compensation Release has it as repeated string' },
      { rpc: "Release", rule: "key-field-type", message: expect.stringContaining('"k" of type repeated string') },
    ]);
  });

  it("a compensation that reads the key from another field, or as another type", () => {
    expect(of("key-field-mismatch")).toEqual([
      { rpc: "Hold", rule: "key-field-mismatch", message: 'puts its key in "hold_key", but its compensation Release reads it from "release_key"' },
      { rpc: "Write", rule: "key-field-mismatch", message: 'has key field "k" of type string, but its compensation Erase has it as bytes' },
      { rpc: "Erase", rule: "key-field-type", message: expect.stringContaining('"k" of type bytes') },
    ]);
  });

  it("has a broken fixture for every rule", () => {
    const rules = new Set(problems.map((p) => p.rule));
    const all: ContractRule[] = [
      "missing-option",
      "streaming-not-transport",
      "unknown-role",
      "missing-compensation",
      "no-side-effect-with-compensation",
      "unknown-method",
      "wrong-role",
      "not-an-action",
      "dangling",
      "missing-key-field",
      "key-field-type",
      "key-field-mismatch",
    ];
    expect([...rules].sort()).toEqual([...all].sort());
  });
});
