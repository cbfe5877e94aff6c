import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

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

/** CPU time (user + system) the process `pid` has used, in ms, from /proc/<pid>/stat. */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces and parentheses: fields after the last ')' start at field 3.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read CPU times of ${pid} from /proc/${pid}/stat`);
  return ((utime + stime) * 1000) / clockTicksPerSecond();
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
