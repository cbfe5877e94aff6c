// Bundles the console ahead of time into a folder (the Docker image's dist/console/, whose run stage has no sources):
//   node --import tsx gateway/console-build.ts dist/console
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { bundleConsole, findConsoleDir } from "./console-assets.js";

const target = process.argv[2];
if (target === undefined) {
  console.error("usage: node --import tsx gateway/console-build.ts <folder>");
  process.exit(1);
}
const { dir, prebuilt } = findConsoleDir();
if (prebuilt) throw new Error(`console: ${dir} is already a prebuilt console; run this from a checkout`);
mkdirSync(resolve(target), { recursive: true });
writeFileSync(join(resolve(target), "app.js"), await bundleConsole(dir));
for (const file of ["index.html", "console.css"]) copyFileSync(join(dir, file), join(resolve(target), file));
console.log(`console bundled into ${resolve(target)}`);
