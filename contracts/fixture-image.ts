/**
 * The test fixtures of `contracts/testdata/` compiled by buf into an image, for the tests of
 * the checker, the protoc plugin, the contract steps and the CLI. The fixtures stay out of the
 * `proto/` module (lint and generate never see them), so each test copies them into a temp
 * directory beside the options proto they import and compiles that.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { BUF, ROOT } from "./repository-root.js";

const run = promisify(execFile);

/** A temp directory holding `saga/options/v1/options.proto`, `valid/*.proto` and `broken/*.proto`. */
export interface FixtureTree {
  readonly dir: string;
  remove(): void;
}

/** Copies the fixtures and the options proto into a fresh temp directory (a buf module without buf.yaml). */
export function copyFixtures(): FixtureTree {
  const dir = mkdtempSync(join(tmpdir(), "tp-saga-contracts-"));
  cpSync(join(ROOT, "proto", "saga", "options", "v1", "options.proto"), join(dir, "saga", "options", "v1", "options.proto"));
  cpSync(join(ROOT, "contracts", "testdata"), dir, { recursive: true });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles `tree` with `buf build` into `<dir>/image.binpb` and loads it as a registry. */
export async function buildImage(tree: FixtureTree): Promise<FileRegistry> {
  const image = join(tree.dir, "image.binpb");
  await run(BUF, ["build", tree.dir, "-o", image], { cwd: ROOT });
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(image)));
}
