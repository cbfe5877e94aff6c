import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The folders the six processes run from (the launcher, tests and tools stay on tsx). Every
 * folder a process imports from must be here (`contracts/`, where it exists, for the
 * orchestrator's contract steps); `test/compiled-build.test.ts` checks that no import leaves them.
 */
export const COMPILED_FOLDERS = ["gen", "platform", "services", "orchestrator", "gateway", "contracts"] as const;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where the compiled JavaScript goes (gitignored). */
export const DIST_DIR = join(ROOT, "dist");

/**
 * `dist/package.json`: ES modules, and the same `#gen/*` and `#platform/*` import maps as the
 * root's, resolved inside `dist/` (Node reads the nearest package.json for both).
 */
const DIST_PACKAGE = { private: true, type: "module", imports: { "#gen/*": "./gen/*", "#platform/*": "./platform/*" } };

export interface BuildReport {
  /** Files transpiled now (0 when dist/ was current). */
  readonly transpiled: number;
  /** Compiled files removed because their source is gone. */
  readonly removed: number;
  readonly sources: number;
  readonly ms: number;
}

function sourcesOf(folder: string): string[] {
  if (!existsSync(join(ROOT, folder))) return [];
  return readdirSync(join(ROOT, folder), { withFileTypes: true }).flatMap((e) => {
    const path = join(folder, e.name);
    if (e.isDirectory()) return sourcesOf(path);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

function compiledOf(folder: string): string[] {
  if (!existsSync(join(DIST_DIR, folder))) return [];
  return readdirSync(join(DIST_DIR, folder), { withFileTypes: true }).flatMap((e) => {
    const path = join(folder, e.name);
    if (e.isDirectory()) return compiledOf(path);
    return e.name.endsWith(".js") ? [path] : [];
  });
}

/** Whether TypeScript is installed (it is a devDependency: `npm ci --omit=dev` leaves it out). */
export function canCompile(): boolean {
  try {
    createRequire(import.meta.url).resolve("typescript");
    return true;
  } catch {
    return false;
  }
}

/**
 * Brings `dist/` up to date with the sources of the six processes: each `.ts` that changed
 * since the last build (size or modification time, recorded in `dist/sources.json`) or whose
 * `.js` is missing is transpiled on its own with TypeScript's `transpileModule`, and a `.js`
 * whose source is gone is removed. Per-file transpiling is exact here because the project
 * compiles with `isolatedModules` and `verbatimModuleSyntax` (no file's output depends on
 * another's types); `npm run typecheck` still checks the types. Why at all: a process loading
 * compiled JavaScript starts on about half the CPU of one loading TypeScript through tsx, and
 * the six start at once on two cores. Each file is written to a temporary name and renamed,
 * so concurrent builds (test files starting systems side by side) never expose a partial
 * file. TypeScript itself is loaded only when some file is stale.
 * @throws when TypeScript is not installed and a file is stale, or a source does not parse.
 */
export async function buildCompiled(): Promise<BuildReport> {
  const started = Date.now();
  const sources = COMPILED_FOLDERS.flatMap(sourcesOf);
  // A source is stale when its size or modification time differs from the build's record
  // (older counts too: a file copied or checked out with an earlier time), or its output is gone.
  const manifestPath = join(DIST_DIR, "sources.json");
  let built: Record<string, string> = {};
  try {
    built = JSON.parse(readFileSync(manifestPath, "utf8")) as Record<string, string>;
  } catch {
    /* first build */
  }
  const current: Record<string, string> = {};
  for (const source of sources) {
    const st = statSync(join(ROOT, source));
    current[source] = `${st.mtimeMs}:${st.size}`;
  }
  const stale = sources.filter((source) => built[source] !== current[source] || !existsSync(join(DIST_DIR, source.replace(/\.ts$/, ".js"))));
  const wanted = new Set(sources.map((s) => s.replace(/\.ts$/, ".js")));
  let removed = 0;
  for (const compiled of COMPILED_FOLDERS.flatMap(compiledOf)) {
    if (!wanted.has(compiled)) {
      rmSync(join(DIST_DIR, compiled), { force: true });
      removed++;
    }
  }
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(path), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  };
  const packagePath = join(DIST_DIR, "package.json");
  const packageText = `${JSON.stringify(DIST_PACKAGE, null, 2)}\n`;
  if (!existsSync(packagePath) || readFileSync(packagePath, "utf8") !== packageText) write(packagePath, packageText);

  if (stale.length > 0) {
    const ts = (await import("typescript")).default;
    const compilerOptions = {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      sourceMap: false,
    };
    for (const source of stale) {
      const result = ts.transpileModule(readFileSync(join(ROOT, source), "utf8"), { fileName: source, compilerOptions, reportDiagnostics: true });
      const errors = (result.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
      if (errors.length > 0) {
        throw new Error(
          `${relative(ROOT, join(ROOT, source))}: ${errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, " ")).join("; ")}`,
        );
      }
      write(join(DIST_DIR, source.replace(/\.ts$/, ".js")), result.outputText);
    }
  }
  if (stale.length > 0 || removed > 0 || Object.keys(built).length !== sources.length) write(manifestPath, `${JSON.stringify(current)}\n`);
  return { transpiled: stale.length, removed, sources: sources.length, ms: Date.now() - started };
}
