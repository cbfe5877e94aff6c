/**
 * The file descriptors embedded in the generated code (`gen/**\/*_pb.ts`), loaded by walking
 * `gen/`, so that the contract check covers every file buf generated, not a hand-kept list.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DescFile } from "@bufbuild/protobuf";
import { ROOT } from "./repository-root.js";

/** Every generated file descriptor, ordered by proto file name. */
export async function loadGeneratedFiles(genDir: string = join(ROOT, "gen")): Promise<DescFile[]> {
  const files = new Map<string, DescFile>();
  for (const path of walk(genDir)) {
    const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (isFile(value)) files.set(value.proto.name, value);
    }
  }
  return [...files.values()].sort((a, b) => a.proto.name.localeCompare(b.proto.name));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith("_pb.ts") ? [path] : [];
  });
}

function isFile(value: unknown): value is DescFile {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "file";
}
