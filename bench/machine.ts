import { readFileSync } from "node:fs";
import os from "node:os";
import { resolve } from "node:path";
import { clockTicksPerSecond } from "./process-stats.js";

/** The machine a benchmark ran on. */
export interface MachineDescription {
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryMiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly os: string;
  readonly arch: string;
  readonly clockTicksPerSecond: number;
  /** Filesystem of the data directories (it decides what an fsync costs). */
  readonly dataFilesystem: string;
}

/** The mount (device, mount point, type) holding `path`, from /proc/mounts. */
export function filesystemOf(path: string): string {
  try {
    const abs = resolve(path);
    let best: { dev: string; mount: string; type: string } | undefined;
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [dev, mount, type] = line.split(" ");
      if (!dev || !mount || !type) continue;
      const inside = abs === mount || abs.startsWith(mount.endsWith("/") ? mount : `${mount}/`);
      if (inside && (!best || mount.length >= best.mount.length)) best = { dev, mount, type };
    }
    return best ? `${best.type} (${best.dev} on ${best.mount})` : "unknown";
  } catch {
    return "unknown";
  }
}

export function describeMachine(dataParent: string): MachineDescription {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCount: cpus.length,
    totalMemoryMiB: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.version()}`,
    os: `${os.platform()}`,
    arch: os.arch(),
    clockTicksPerSecond: clockTicksPerSecond(),
    dataFilesystem: filesystemOf(dataParent),
  };
}
