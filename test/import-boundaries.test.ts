import { describe, expect, it } from "vitest";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

// The folder rules of docs/folder-rules.md ("Who imports what"), checked on every import of every non-test source file:
// the engine is generic, services never import each other, platform imports no product code.
const ROOT = fileURLToPath(new URL("..", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), "utf8");
  return [...text.matchAll(/^\s*(?:import|export)[^"']*?from\s+["']([^"']+)["']/gm)].map((m) => m[1]!);
}

/** Where an import points, as a path from the root, or the package name. */
function target(file: string, spec: string): string {
  if (spec.startsWith("#gen/")) return `gen/${spec.slice(5)}`;
  if (spec.startsWith("#platform/")) return `platform/${spec.slice(10)}`;
  if (spec.startsWith(".")) return relative(ROOT, join(ROOT, file, "..", spec));
  return spec;
}

const RULES: Array<{ folder: string; forbidden: RegExp; why: string }> = [
  {
    folder: "orchestrator/engine",
    // SQLite, PostgreSQL, group commit and the one page-token format are the only shared runtime it uses.
    forbidden:
      /^(gen\/|orchestrator\/order-saga|orchestrator\/handlers|@connectrpc|@grpc|platform\/(?!sqlite\.js$|write-batcher\.js$|page-token\.js$|postgres(-migrations|-write-batcher)?\.js$))/,
    why: "the engine is generic",
  },
  { folder: "services/catalog", forbidden: /^(services\/(?!catalog\/)|orchestrator|gateway)/, why: "services never import each other" },
  { folder: "services/payments", forbidden: /^(services\/(?!payments\/)|orchestrator|gateway)/, why: "services never import each other" },
  { folder: "services/purchases", forbidden: /^(services\/(?!purchases\/)|orchestrator|gateway)/, why: "services never import each other" },
  { folder: "services/inventory", forbidden: /^(services\/(?!inventory\/)|orchestrator|gateway)/, why: "services never import each other" },
  { folder: "platform", forbidden: /^(services|orchestrator|gateway|system|gen\/saga)/, why: "platform imports no product code" },
  // The order saga's step names (persisted keys the gateway maps to the seed's messages) are the one exception.
  {
    folder: "gateway",
    forbidden: /^(services|orchestrator\/(?!order-saga\/order-saga\.js$))/,
    why: "the gateway talks to the orchestrator over gRPC only",
  },
  // The console runs in a browser: only its own folder, the orchestrator's generated contract and browser packages.
  {
    folder: "console",
    forbidden: /^(node:|services|orchestrator|gateway|platform|system|gen\/(?!saga\/orchestrator\/)|@grpc|@connectrpc\/connect-node)/,
    why: "the console talks to the gateway's Connect API only",
  },
];

describe("import boundaries", () => {
  it.each(RULES)("$folder: $why", ({ folder, forbidden }) => {
    const files = sources(folder);
    expect(files.length).toBeGreaterThan(0);
    const broken = files.flatMap((f) =>
      importsOf(f)
        .map((spec) => ({ f, to: target(f, spec) }))
        .filter(({ to }) => forbidden.test(to)),
    );
    expect(broken.map(({ f, to }) => `${f} → ${to}`)).toEqual([]);
  });
});
