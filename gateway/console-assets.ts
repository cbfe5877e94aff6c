import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Router } from "express";
import type { Logger } from "#platform/logger.js";

/** A file the console needs: its bytes and content type. */
interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** Where the console's files are, and whether its script is already bundled. */
export interface ConsoleDir {
  readonly dir: string;
  /** `app.js` is there, bundled ahead of time (the Docker image: `gateway/console-build.ts`); otherwise it is bundled from `main.tsx`. */
  readonly prebuilt: boolean;
}

/**
 * The console's folder: `console/` beside `gateway/` when the gateway runs from its sources
 * (tsx) or from the Docker image's `dist/` (where `dist/console/` holds a prebuilt `app.js`),
 * and the project's `console/` one level further up when it runs from `dist/gateway/` on a
 * checkout (`system/compiled-build.ts`).
 */
export function findConsoleDir(from: string = dirname(fileURLToPath(import.meta.url))): ConsoleDir {
  const candidates = [join(from, "..", "console"), join(from, "..", "..", "console")];
  for (const dir of candidates) {
    if (existsSync(join(dir, "app.js")) && existsSync(join(dir, "index.html"))) return { dir, prebuilt: true };
    if (existsSync(join(dir, "main.tsx"))) return { dir, prebuilt: false };
  }
  throw new Error(`console: neither console/main.tsx nor a prebuilt console/app.js in ${candidates.join(" or ")}`);
}

/**
 * Bundles `console/main.tsx` (Preact, the connect-web client and the generated
 * OrchestratorService from `gen/`) with esbuild from the installed packages: no network, no
 * CDN, so the console works offline.
 */
export async function bundleConsole(consoleDir: string): Promise<Buffer> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [join(consoleDir, "main.tsx")],
    absWorkingDir: join(consoleDir, ".."),
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    jsx: "automatic",
    jsxImportSource: "preact",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error("console: esbuild produced no output");
  return Buffer.from(output.contents);
}

/** Only the page's own scripts and styles, and calls to this gateway. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The console's paths, for the gateway's 405 table. */
export const CONSOLE_PATHS: readonly string[] = ["/console", "/console/app.js", "/console/console.css"];

/**
 * Serves the saga console: `GET /console` (the page), `/console/app.js` (bundled on the first
 * request and kept in memory, or read once where it was bundled ahead of time; a failed build is logged, answered 500 and tried again on the
 * next request) and `/console/console.css`. The page holds no data: everything it shows comes
 * through the Connect API, behind the operator authentication.
 */
export function consoleRoutes(options: { readonly consoleDir?: ConsoleDir; readonly log?: Logger } = {}): Router {
  const router = express.Router({ strict: false });
  let bundle: Promise<Asset> | undefined;
  const located = (): ConsoleDir => options.consoleDir ?? findConsoleDir();
  const consoleDir = (): string => located().dir;
  const appJs = (): Promise<Asset> => {
    const { dir, prebuilt } = located();
    bundle ??= (prebuilt ? Promise.resolve(readFileSync(join(dir, "app.js"))) : bundleConsole(dir)).then(
      (body) => ({ body, type: "text/javascript; charset=utf-8" }),
      (err: unknown) => {
        bundle = undefined;
        throw err;
      },
    );
    return bundle;
  };
  const file = (name: string, type: string): Asset => ({ body: readFileSync(join(consoleDir(), name)), type });
  const send = (res: express.Response, asset: Asset) => {
    res.setHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-cache");
    res.type(asset.type).send(asset.body);
  };
  router.get("/console", (_req, res) => send(res, file("index.html", "text/html; charset=utf-8")));
  router.get("/console/console.css", (_req, res) => send(res, file("console.css", "text/css; charset=utf-8")));
  router.get("/console/app.js", async (_req, res) => {
    try {
      send(res, await appJs());
    } catch (err) {
      options.log?.error({ err }, "console: bundling console/main.tsx failed");
      res.status(500).json({ error: "console: the page's script could not be built (see the gateway's log)" });
    }
  });
  return router;
}
