import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildCompiled, COMPILED_FOLDERS, DIST_DIR } from "../system/compiled-build.js";
import { PROCESSES } from "../system/processes.js";

// npm start runs the processes from dist/: every file they import must be compiled there.
const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  if (!existsSync(join(ROOT, dir))) return [];
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("compiled processes (dist/)", () => {
  it("import nothing from outside the compiled folders", () => {
    const outside: string[] = [];
    for (const file of COMPILED_FOLDERS.flatMap(sources)) {
      const text = readFileSync(join(ROOT, file), "utf8");
      for (const m of text.matchAll(/^\s*(?:import|export)(?!\s+type\b)[^"']*?from\s+["'](\.[^"']+)["']/gm)) {
        const target = relative(ROOT, join(dirname(join(ROOT, file)), m[1]!));
        if (!COMPILED_FOLDERS.some((folder) => target.startsWith(`${folder}/`))) outside.push(`${file} imports ${m[1]}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it("has every process's entry point after a build, and each compiled module loads", async () => {
    const report = await buildCompiled();
    expect(report.sources).toBeGreaterThan(0);
    for (const p of PROCESSES) expect(existsSync(join(DIST_DIR, p.entry.replace(/\.ts$/, ".js"))), p.entry).toBe(true);
    // A module the processes share, loaded from dist/ through dist/package.json's import map.
    const config = (await import(pathToFileURL(join(DIST_DIR, "platform", "config.js")).href)) as Record<string, unknown>;
    expect(typeof config.readEnv).toBe("function");
    // A second build right after finds nothing to do.
    expect((await buildCompiled()).transpiled).toBe(0);
  });
});
