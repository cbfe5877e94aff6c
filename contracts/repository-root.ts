/** Where the repository is, for the tools of `contracts/` that read its files or run its buf. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** The buf CLI of the repository's install (what `npx buf` runs). */
export const BUF = join(ROOT, "node_modules", ".bin", "buf");
