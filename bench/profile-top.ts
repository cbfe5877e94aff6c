/**
 * `node --import tsx bench/profile-top.ts <file.cpuprofile> [--top N] [--from-us T --to-us T]
 * [--by-owner] [--callers FUNCTION]`: the functions with the most self time in a V8 CPU profile (as
 * `npm run bench -- --cpu-prof` writes). `--from-us/--to-us` keep only the samples of one
 * benchmark level (its `monotonicWindowUs` in the results JSON, printed by the run), which
 * leaves out start-up (module loading, tsx compilation) and the other levels. `(idle)` is
 * reported but not ranked; percentages are of the busy (non-idle) time.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { callersOf, readCpuProfile, selfTimeByOwner, selfTimes, type ProfileWindow } from "./cpu-profile.js";
import { textTable } from "./report.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const USAGE = "usage: node --import tsx bench/profile-top.ts <file.cpuprofile> [--top N] [--from-us T --to-us T] [--by-owner] [--callers FUNCTION]\n";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: "string", default: "20" },
    "from-us": { type: "string" },
    "to-us": { type: "string" },
    "by-owner": { type: "boolean", default: false },
    callers: { type: "string" },
  },
});
const file = positionals[0];
const top = Number(values.top);
const from = values["from-us"] === undefined ? undefined : Number(values["from-us"]);
const to = values["to-us"] === undefined ? undefined : Number(values["to-us"]);
if (
  !file ||
  positionals.length > 1 ||
  !Number.isInteger(top) ||
  top < 1 ||
  (from === undefined) !== (to === undefined) ||
  Number.isNaN(from) ||
  Number.isNaN(to)
) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const window: ProfileWindow | undefined = from !== undefined && to !== undefined ? { fromUs: from, toUs: to } : undefined;
const profile = readCpuProfile(file);
const { total, functions } = selfTimes(profile, ROOT, window);
const idle = functions.find((f) => f.functionName === "(idle)" && f.location === "")?.selfMs ?? 0;
const busy = total - idle;
const ranked = functions
  .filter((f) => !(f.functionName === "(idle)" && f.location === ""))
  .map((f) => ({ ...f, busyPct: busy > 0 ? (100 * f.selfMs) / busy : 0 }));
const span = window
  ? `window ${((window.toUs - window.fromUs) / 1000).toFixed(0)} ms`
  : `whole profile, ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms of wall time`;
process.stdout.write(`${file}\n${span}: sampled ${total.toFixed(0)} ms, (idle) ${idle.toFixed(0)} ms, busy ${busy.toFixed(0)} ms\n\n`);
process.stdout.write(
  `${textTable({
    headers: ["#", "self ms", "% busy", "function", "location"],
    rows: ranked.slice(0, top).map((f, i) => [i + 1, Number(f.selfMs.toFixed(1)), Number(f.busyPct.toFixed(2)), f.functionName, f.location]),
  })}\n`,
);
if (values["by-owner"]) {
  process.stdout.write(
    `\n${textTable({
      headers: ["self ms", "% busy", "package / directory"],
      rows: selfTimeByOwner(ranked)
        .slice(0, top)
        .map((o) => [Number(o.selfMs.toFixed(1)), Number((busy > 0 ? (100 * o.selfMs) / busy : 0).toFixed(2)), o.owner]),
    })}\n`,
  );
}
if (values.callers !== undefined) {
  process.stdout.write(
    `\ncallers of ${values.callers} (its self time by direct caller)\n${textTable({
      headers: ["self ms", "caller"],
      rows: callersOf(profile, values.callers, ROOT, window)
        .slice(0, top)
        .map((c) => [Number(c.selfMs.toFixed(1)), c.caller]),
    })}\n`,
  );
}
