import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, isFieldSet, toBinary, type FileRegistry } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { checkGeneratorRequest } from "./check-generator-request.js";
import { buildImage, copyFixtures, type FixtureTree } from "./fixture-image.js";
import { BUF, ROOT } from "./repository-root.js";

const run = promisify(execFile);
const PLUGIN = join(ROOT, "contracts", "protoc-gen-saga-check.ts");

let tree: FixtureTree;
let registry: FileRegistry;
beforeAll(async () => {
  tree = copyFixtures();
  registry = await buildImage(tree);
  // A template of the check alone, as buf.gen.yaml wires it (run from the root, where tsx resolves).
  writeFileSync(
    join(tree.dir, "buf.gen.yaml"),
    ["version: v2", "plugins:", `  - local: ["node", "--import", "tsx", ${JSON.stringify(PLUGIN)}]`, "    out: out", "    strategy: all", ""].join(
      "\n",
    ),
  );
});
afterAll(() => tree.remove());

/** `buf generate` of one fixture file with the check plugin; resolves with stderr, or rejects with it. */
async function generate(path: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    const { stderr } = await run(
      BUF,
      ["generate", tree.dir, "--template", join(tree.dir, "buf.gen.yaml"), "-o", tree.dir, "--path", join(tree.dir, path)],
      { cwd: ROOT },
    );
    return { ok: true, stderr };
  } catch (err) {
    return { ok: false, stderr: (err as { stderr: string }).stderr };
  }
}

function requestFor(...names: string[]) {
  const protoFile = [...registry.files].map((f) => f.proto);
  return create(CodeGeneratorRequestSchema, { fileToGenerate: names, protoFile });
}

describe("protoc-gen-saga-check", () => {
  it("fails buf generate on a broken contract, naming file, service, RPC and what is wrong", { timeout: 120_000 }, async () => {
    const { ok, stderr } = await generate("broken/wrong-role.proto");
    expect(ok).toBe(false);
    expect(stderr).toContain("1 saga contract problem:");
    expect(stderr).toContain(
      'broken/wrong-role.proto: saga.fixture.broken.wrong_role.v1.BrokenService.Hold: names compensation "Settle", which has role CONFIRMATION; it must have role COMPENSATION [wrong-role]',
    );
    expect(existsSync(join(tree.dir, "out"))).toBe(false);
  });

  it("lets buf generate pass on a contract that keeps the rules, and writes no file", { timeout: 120_000 }, async () => {
    const { ok, stderr } = await generate("valid/ledger.proto");
    expect({ ok, stderr }).toEqual({ ok: true, stderr: "" });
    expect(existsSync(join(tree.dir, "out")) ? readdirSync(join(tree.dir, "out")) : []).toEqual([]);
  });

  it("checks only the files to generate, reading their imports for references", () => {
    const clean = checkGeneratorRequest(requestFor("valid/ledger.proto"));
    expect(isFieldSet(clean, CodeGeneratorResponseSchema.field.error)).toBe(false);
    expect(clean.file).toEqual([]);
    const broken = checkGeneratorRequest(requestFor("valid/ledger.proto", "broken/dangling.proto", "broken/missing-option.proto"));
    expect(broken.error?.split("\n")).toEqual([
      "2 saga contract problems:",
      expect.stringMatching(/^broken\/dangling\.proto: .*\.Refund: .*\[dangling\]$/),
      expect.stringMatching(/^broken\/missing-option\.proto: .*\.Peek: .*\[missing-option\]$/),
    ]);
  });

  it("answers on stdout when run as a process", { timeout: 120_000 }, async () => {
    const request = requestFor("broken/unknown-method.proto");
    const child = execFile("node", ["--import", "tsx", PLUGIN], { cwd: ROOT, encoding: "buffer" });
    child.stdin!.end(Buffer.from(toBinary(CodeGeneratorRequestSchema, request)));
    const stdout = await new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      child.stdout!.on("data", (c: Buffer) => chunks.push(c));
      child.on("close", (code) => (code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`exit ${code}`))));
    });
    const response = fromBinary(CodeGeneratorResponseSchema, stdout);
    expect(response.error).toContain('names compensation "Undo", which is not an RPC of BrokenService [unknown-method]');
  });

  it("rejects a request that lacks the descriptor of a file to generate", () => {
    const request = create(CodeGeneratorRequestSchema, {
      fileToGenerate: ["missing.proto"],
      protoFile: [create(FileDescriptorProtoSchema, { name: "other.proto", syntax: "proto3" })],
    });
    expect(() => checkGeneratorRequest(request)).toThrow("the request asks to generate missing.proto but holds no descriptor of it");
  });
});
