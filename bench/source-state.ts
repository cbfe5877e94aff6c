import { execFileSync } from "node:child_process";

/** Which code a benchmark measured: the commit, and the files that differed from it. */
export interface SourceState {
  readonly commit: string;
  readonly subject: string;
  /** `git status --porcelain` lines of tracked files changed outside bench/ (the processes ran them). */
  readonly uncommitted: readonly string[];
}

export function sourceState(cwd: string): SourceState | undefined {
  try {
    const git = (...args: string[]): string => execFileSync("git", args, { cwd, encoding: "utf8" }).trimEnd();
    // Porcelain lines start with two status columns (the first may be a space): no trimStart.
    const uncommitted = git("status", "--porcelain", "--untracked-files=no")
      .split("\n")
      .filter((l) => l !== "" && !l.slice(3).startsWith("bench/"));
    return { commit: git("rev-parse", "HEAD"), subject: git("log", "-1", "--format=%s"), uncommitted };
  } catch {
    return undefined;
  }
}
