/**
 * Brings `dist/` up to date by hand (`npm start` does it on its own before it starts the
 * processes; the Dockerfile runs this at image build):
 *
 *   node --import tsx system/build-compiled.ts
 */
import { buildCompiled } from "./compiled-build.js";

const report = await buildCompiled();
console.log(`dist/: ${report.transpiled} of ${report.sources} files transpiled, ${report.removed} removed, in ${report.ms} ms`);
