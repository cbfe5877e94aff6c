import { describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));

function tree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return files;
}

describe("gen/", () => {
  it("is what buf generate makes from proto/ (regenerate with npm run generate)", async () => {
    const out = mkdtempSync(join(tmpdir(), "tp-saga-gen-"));
    try {
      const bin = join(ROOT, "node_modules", ".bin");
      await run(join(bin, "buf"), ["generate", "-o", out], { cwd: ROOT, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      const fresh = tree(join(out, "gen"));
      const committed = tree(join(ROOT, "gen"));
      expect([...committed.keys()].sort()).toEqual([...fresh.keys()].sort());
      for (const [file, text] of fresh) expect(committed.get(file), `gen/${file} is stale`).toBe(text);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 180_000); // buf generate runs protoc-gen-es and the contract check: tens of seconds on a loaded machine
});
