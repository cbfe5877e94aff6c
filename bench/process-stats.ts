import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

let ticks: number | undefined;

/** Clock ticks per second of /proc times (`getconf CLK_TCK`, 100 on Linux when it cannot be read). */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
      ticks = Number.isInteger(n) && n > 0 ? n : 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** The fields of /proc/<pid>/stat from field 3 (state) on; field n is at index n - 3. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: fields after the last ')' start at field 3.
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

function ticksField(fields: readonly string[], n: number, pid: number): number {
  const v = Number(fields[n - 3]);
  if (!Number.isFinite(v)) throw new Error(`cannot read field ${n} of /proc/${pid}/stat`);
  return v;
}

/** CPU time (user + system) the process `pid` has used, in ms, from /proc/<pid>/stat. */
export function cpuMsOf(pid: number): number {
  const f = statFields(pid);
  return ((ticksField(f, 14, pid) + ticksField(f, 15, pid)) * 1000) / clockTicksPerSecond();
}

/**
 * CPU time (user + system, ms) of `root` and every process under it, the ones that have exited
 * included: the root's own time, plus the time of its children that it has reaped (`cutime` +
 * `cstime`), plus the time of each child alive now (its own and its reaped children's). A child
 * that exits between two readings moves from the last term to the second, so the difference of
 * two readings is exact for a server that forks a process per connection (PostgreSQL).
 * @throws when `root` is gone.
 */
export function processTreeCpuMs(root: number): number {
  const r = statFields(root);
  let ticks = ticksField(r, 14, root) + ticksField(r, 15, root) + ticksField(r, 16, root) + ticksField(r, 17, root);
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const f = statFields(pid);
      if (Number(f[4 - 3]) !== root) continue;
      ticks += ticksField(f, 14, pid) + ticksField(f, 15, pid) + ticksField(f, 16, pid) + ticksField(f, 17, pid);
    } catch {
      /* exited while we read */
    }
  }
  return (ticks * 1000) / clockTicksPerSecond();
}

function statusField(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Peak resident set size of `pid` (VmHWM) in KiB: since start, or since `resetPeakRss`. */
export function peakRssKiBOf(pid: number): number {
  return statusField(pid, "VmHWM");
}

/** Current resident set size of `pid` (VmRSS) in KiB. */
export function rssKiBOf(pid: number): number {
  return statusField(pid, "VmRSS");
}

/**
 * Resets the peak RSS (VmHWM) of `pid` to its current RSS by writing 5 to
 * /proc/<pid>/clear_refs (Linux ≥ 4.0, same user). Returns false when that is not allowed,
 * in which case VmHWM stays the peak since the process started.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Busy and iowait time of the whole machine (all cores), in ms, from /proc/stat. */
export interface MachineCpu {
  readonly busyMs: number;
  readonly iowaitMs: number;
  readonly totalMs: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync("/proc/stat", "utf8")
    .split("\n")
    .find((l) => l.startsWith("cpu "));
  if (!line) throw new Error("no cpu line in /proc/stat");
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map(Number) as number[];
  const ms = (t: number | undefined): number => ((t ?? 0) * 1000) / clockTicksPerSecond();
  const busy = ms(user) + ms(nice) + ms(system) + ms(irq) + ms(softirq) + ms(steal);
  return { busyMs: busy, iowaitMs: ms(iowait), totalMs: busy + ms(idle) + ms(iowait) };
}
