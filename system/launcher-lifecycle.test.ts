import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// The lifecycle exits the process, so each case runs a small launcher as a real process: it starts
// a fake system whose start and stop print what happens, in the way the scenario (argv) says.
const dir = mkdtempSync(join(tmpdir(), "launcher-lifecycle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lifecycle = fileURLToPath(new URL("./launcher-lifecycle.ts", import.meta.url));
const script = join(dir, "launcher.mts");
writeFileSync(
  script,
  `
import { beginStartUp, runUntilStopped } from ${JSON.stringify(lifecycle)};
const scenario = process.argv[2];
// Stands for the child processes that keep a real launcher alive (and bounds the run).
setTimeout(() => process.exit(3), 30_000);
const system = { stop: async () => void process.stdout.write("system stopped\\n") };
const startUp = beginStartUp("FAKE");
const running = await startUp.started(
  new Promise<typeof system>((resolve, reject) => {
    if (scenario === "fails") return reject(new Error("port 1 is taken"));
    if (scenario === "signal-during-start") {
      startUp.signal.addEventListener("abort", () => reject(new Error("aborted")));
      return void process.stdout.write("starting\\n");
    }
    if (scenario === "signal-as-it-ends") {
      startUp.signal.addEventListener("abort", () => resolve(system));
      return void process.stdout.write("starting\\n");
    }
    resolve(system);
  }),
);
runUntilStopped("FAKE", running, (stop) => {
  if (scenario === "gives-up") setTimeout(() => stop(1), 10);
  return [{ stop: () => void process.stdout.write("supervisor stopped\\n") }];
});
process.stdout.write("up\\n");
`,
);

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the launcher; sends SIGTERM once it prints `signalAfter`. */
function run(scenario: string, signalAfter?: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, scenario], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let signalled = false;
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (signalAfter && !signalled && stdout.includes(`${signalAfter}\n`)) {
        signalled = true;
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("a launcher's lifecycle", { timeout: 60_000 }, () => {
  it("a start that fails exits 1 saying why", async () => {
    const out = await run("fails");
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("FAKE failed to start: port 1 is taken\n");
    expect(out.stdout).not.toContain("up");
  });

  it("a signal during start-up stops the start and exits 0", async () => {
    const out = await run("signal-during-start", "starting");
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("starting\nFAKE stopped during start-up.\n");
    expect(out.stderr).toBe("");
  });

  it("a signal as the start ends stops what started and exits 0", async () => {
    const out = await run("signal-as-it-ends", "starting");
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("starting\nsystem stopped\nFAKE stopped during start-up.\n");
  });

  it("once up, SIGTERM stops the supervisors, then the system, and exits 0", async () => {
    const out = await run("up", "up");
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("up\nsupervisor stopped\nFAKE stopping…\nsystem stopped\nFAKE stopped.\n");
  });

  it("a supervisor giving up stops everything and exits 1", async () => {
    const out = await run("gives-up");
    expect(out.code).toBe(1);
    expect(out.stdout).toBe("up\nsupervisor stopped\nFAKE stopping…\nsystem stopped\nFAKE stopped.\n");
  });
});
