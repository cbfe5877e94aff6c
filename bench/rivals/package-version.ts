import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const MODULES = fileURLToPath(new URL("./node_modules/", import.meta.url));

/**
 * The installed version of `name` in bench/rivals/node_modules, read from its package.json on
 * disk (some packages, @dbos-inc/dbos-sdk among them, do not export `./package.json`).
 */
export function installedVersion(name: string): string {
  return (JSON.parse(readFileSync(`${MODULES}${name}/package.json`, "utf8")) as { version: string }).version;
}
