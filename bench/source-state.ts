import { execFileSync } from "node:child_process";

/** Which code a benchmark measured: the commit, and the files that differed from it. */
export interface SourceState {
  readonly commit: string;
  readonly subject: string;
  /** `git status --porcelain` lines of tracked files changed, outside `ignoredPrefix` (the processes ran them). */
  readonly uncommitted: readonly string[];
}

/**
 * The commit checked out in `cwd` and the tracked files that differ from it. `npm run bench`
 * ignores changes under bench/ (its processes do not run that code); `bench:rivals` ignores none
 * (its rivals run bench/rivals).
 */
export function sourceState(cwd: string, ignoredPrefix = "bench/"): SourceState | undefined {
  try {
    const git = (...args: string[]): string => execFileSync("git", args, { cwd, encoding: "utf8" }).trimEnd();
    // Porcelain lines start with two status columns (the first may be a space): no trimStart.
    const uncommitted = git("status", "--porcelain", "--untracked-files=no")
      .split("\n")
      .filter((l) => l !== "" && (ignoredPrefix === "" || !l.slice(3).startsWith(ignoredPrefix)));
    return { commit: git("rev-parse", "HEAD"), subject: git("log", "-1", "--format=%s"), uncommitted };
  } catch {
    return undefined;
  }
}
