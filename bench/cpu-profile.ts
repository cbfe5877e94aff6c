import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The parts of a V8 .cpuprofile (what `node --cpu-prof` writes) this module reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number; readonly columnNumber: number };
    readonly hitCount?: number;
    readonly children?: readonly number[];
  }[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/**
 * A time window on the monotonic clock, in µs: V8 profile timestamps and the benchmark's
 * `process.hrtime` both read CLOCK_MONOTONIC on Linux, so a level's window cuts every profile.
 */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

/** Self time of one function (all profile nodes of the same name and location together). */
export interface SelfTime {
  readonly functionName: string;
  /** Where it is: a path relative to the repository, `node:…`, or a node_modules package path. */
  readonly location: string;
  readonly selfMs: number;
  /** Share of all sampled time, in %. */
  readonly selfPct: number;
  readonly samples: number;
}

export function readCpuProfile(file: string): CpuProfile {
  const p = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  if (!Array.isArray(p.nodes)) throw new Error(`${file} is not a .cpuprofile (no nodes)`);
  return p;
}

const sources = new Map<string, readonly string[] | undefined>();

/**
 * The line where `functionName` is defined in a repository TypeScript file, found by name: tsx
 * runs esbuild's output, so V8's line numbers are those of the generated code, not of the .ts.
 */
export function definitionLine(file: string, functionName: string): number | undefined {
  if (!sources.has(file)) sources.set(file, existsSync(file) ? readFileSync(file, "utf8").split("\n") : undefined);
  const lines = sources.get(file);
  const name = functionName.replace(/^get |^set /, "");
  if (!lines || !/^#?[\w$]+$/.test(name)) return undefined;
  const n = name.replace(/\$/g, "\\$");
  const patterns = [
    new RegExp(`\\bfunction\\*?\\s+${n}\\s*[(<]`),
    new RegExp(`^\\s*(?:(?:public|private|protected|static|async|override|readonly|get|set)\\s+)*${n}\\s*[(<]`),
    new RegExp(`\\b(?:const|let|var)\\s+${n}\\s*(?::[^=]+)?=\\s*(?:async\\s*)?(?:function\\b|\\(|[\\w$]+\\s*=>)`),
    new RegExp(`^\\s*${n}\\s*:\\s*(?:async\\s*)?(?:function\\b|\\()`),
  ];
  // An implementation first (an interface or overload signature ends with ";").
  for (const isDeclaration of [false, true]) {
    for (const re of patterns) {
      const i = lines.findIndex((l) => re.test(l) && l.trimEnd().endsWith(";") === isDeclaration);
      if (i >= 0) return i + 1;
    }
  }
  return undefined;
}

/**
 * A readable location: repo-relative (for .ts files, the line of the definition found by name,
 * or "~<generated line>" when not found), node_modules/<package>/…, or node:internal.
 */
export function shortLocation(url: string, line: number, root: string, functionName = ""): string {
  if (url === "") return "";
  let path = url.startsWith("file://") ? decodeURIComponent(new URL(url).pathname) : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) return `${path.slice(nm + 1)}:${line + 1}`;
  if (root && path.startsWith(root)) {
    path = path.slice(root.length).replace(/^\//, "");
    if (/\.[cm]?tsx?$/.test(path)) {
      const found = definitionLine(join(root, path), functionName);
      return found === undefined ? `${path}:~${line + 1}` : `${path}:${found}`;
    }
  }
  return `${path}:${line + 1}`;
}

/**
 * Self time per function. With samples and timeDeltas, each sample is charged the time until
 * the next sample (as Chrome DevTools does); otherwise hitCount × the mean sampling interval.
 */
export function selfTimes(profile: CpuProfile, root = "", window?: ProfileWindow): { total: number; functions: SelfTime[] } {
  const selfUs = new Map<number, number>();
  const hits = new Map<number, number>();
  const { samples, timeDeltas } = profile;
  if (samples && timeDeltas && samples.length === timeDeltas.length && samples.length > 0) {
    let t = profile.startTime;
    for (let i = 0; i < samples.length; i++) {
      t += timeDeltas[i]!;
      if (window && (t < window.fromUs || t >= window.toUs)) continue;
      const id = samples[i]!;
      const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : 0;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
      hits.set(id, (hits.get(id) ?? 0) + 1);
    }
  } else {
    if (window) throw new Error("this profile has no samples/timeDeltas: it cannot be cut to a time window");
    const totalHits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
    const interval = totalHits > 0 ? (profile.endTime - profile.startTime) / totalHits : 0;
    for (const n of profile.nodes) {
      selfUs.set(n.id, (n.hitCount ?? 0) * interval);
      hits.set(n.id, n.hitCount ?? 0);
    }
  }
  const byFunction = new Map<string, { functionName: string; location: string; us: number; samples: number }>();
  let totalUs = 0;
  for (const n of profile.nodes) {
    const us = selfUs.get(n.id) ?? 0;
    totalUs += us;
    const f = n.callFrame;
    const functionName = f.functionName || "(anonymous)";
    const location = shortLocation(f.url, f.lineNumber, root, f.functionName);
    const key = `${functionName}\u0000${location}`;
    const entry = byFunction.get(key) ?? { functionName, location, us: 0, samples: 0 };
    entry.us += us;
    entry.samples += hits.get(n.id) ?? 0;
    byFunction.set(key, entry);
  }
  const functions = [...byFunction.values()]
    .map((e) => ({
      functionName: e.functionName,
      location: e.location,
      selfMs: e.us / 1000,
      selfPct: totalUs > 0 ? (100 * e.us) / totalUs : 0,
      samples: e.samples,
    }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { total: totalUs / 1000, functions };
}

/** Self time grouped by where the code lives: a node_modules package, node internals, or a repo directory. */
export function selfTimeByOwner(functions: readonly SelfTime[]): { owner: string; selfMs: number; selfPct: number }[] {
  const by = new Map<string, { selfMs: number; selfPct: number }>();
  for (const f of functions) {
    const loc = f.location;
    let owner: string;
    if (loc === "") owner = f.functionName.startsWith("(") ? f.functionName : "(native)";
    else if (loc.startsWith("node_modules/")) {
      const parts = loc.split("/");
      owner = parts[1]?.startsWith("@") ? `${parts[1]}/${parts[2]}` : (parts[1] ?? loc);
    } else if (loc.startsWith("node:")) owner = "node: internals";
    else owner = loc.split("/").slice(0, -1).join("/") || loc;
    const e = by.get(owner) ?? { selfMs: 0, selfPct: 0 };
    e.selfMs += f.selfMs;
    e.selfPct += f.selfPct;
    by.set(owner, e);
  }
  return [...by].map(([owner, e]) => ({ owner, ...e })).sort((a, b) => b.selfMs - a.selfMs);
}

/** Who calls `functionName`: its self time (inside the window) split by calling function. */
export function callersOf(profile: CpuProfile, functionName: string, root = "", window?: ProfileWindow): { caller: string; selfMs: number }[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const { samples, timeDeltas } = profile;
  if (!samples || !timeDeltas) return [];
  const out = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i]!;
    if (window && (t < window.fromUs || t >= window.toUs)) continue;
    const node = byId.get(samples[i]!);
    if (!node || node.callFrame.functionName !== functionName) continue;
    const p = byId.get(parent.get(node.id) ?? -1);
    const f = p?.callFrame;
    const caller = f ? `${f.functionName || "(anonymous)"} ${shortLocation(f.url, f.lineNumber, root, f.functionName)}` : "(none)";
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : 0;
    out.set(caller, (out.get(caller) ?? 0) + dt / 1000);
  }
  return [...out].map(([caller, selfMs]) => ({ caller, selfMs })).sort((a, b) => b.selfMs - a.selfMs);
}
