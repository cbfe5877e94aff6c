/**
 * Times `npm start` to the first answered `POST /saga`, the figure a new user waits for:
 *
 *   node --import tsx system/time-first-saga.ts [--runs 3] [--base-port 18400] [-- command args…]
 *
 * Each run starts the launcher (default: the same command as `npm start`) on a fresh temp
 * data directory, on ports `base-port`…`base-port + 5` (away from the defaults, since other
 * runs share the machine), posts the seed's order every 50 ms until one is answered 200,
 * prints the time and the CPU the run used, then stops the launcher with SIGTERM and waits for it to exit. After each run it
 * checks that none of the six ports still accepts connections (nothing was left behind).
 * Only 127.0.0.1 is used; each run is bounded at 120 s.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RUN_BOUND_MS = 120_000;

const { values, positionals } = parseArgs({
  options: { runs: { type: "string", default: "3" }, "base-port": { type: "string", default: "18400" } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const basePort = Number(values["base-port"]);
if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error(`--runs: an integer in 1..20, got ${values.runs}`);
if (!Number.isInteger(basePort) || basePort < 1024 || basePort > 65_000)
  throw new Error(`--base-port: an integer in 1024..65000, got ${values["base-port"]}`);
const command = positionals.length > 0 ? positionals : [process.execPath, "--import", "tsx", "system/main.ts"];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * CPU milliseconds used by this process's exited and reaped descendants (cutime + cstime of
 * /proc/self/stat): the launcher and its six processes once the launcher has exited. Wall time
 * on a shared two-core machine moves with the others' load; CPU time much less.
 */
function childrenCpuMs(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

async function once(): Promise<{ firstAnswerMs: number; readyLineMs: number | undefined }> {
  const dataDir = mkdtempSync(join(tmpdir(), "tp-saga-first-"));
  const started = Date.now();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      GATEWAY_PORT: String(basePort),
      ORCHESTRATOR_PORT: String(basePort + 1),
      CATALOG_PORT: String(basePort + 2),
      PAYMENTS_PORT: String(basePort + 3),
      PURCHASES_PORT: String(basePort + 4),
      INVENTORY_PORT: String(basePort + 5),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let readyLineMs: number | undefined;
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    if (readyLineMs === undefined && output.includes("TP-SAGA is ready")) readyLineMs = Date.now() - started;
  });
  try {
    while (Date.now() - started < RUN_BOUND_MS) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the launcher exited early:\n${output.slice(-2_000)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${basePort}/saga`, { method: "POST", signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.status === 200) return { firstAnswerMs: Date.now() - started, readyLineMs };
      } catch {
        /* not up yet */
      }
      await sleep(50);
    }
    throw new Error(`no answered POST /saga within ${RUN_BOUND_MS} ms`);
  } finally {
    child.kill("SIGTERM");
    const forced = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(forced);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Fails when any of the six ports still accepts a connection: the launcher left a process behind. */
async function assertPortsFree(): Promise<void> {
  for (let port = basePort; port < basePort + 6; port++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) throw new Error(`port ${port} still accepts connections after the launcher exited`);
  }
}

const figures: number[] = [];
const cpuFigures: number[] = [];
for (let i = 1; i <= runs; i++) {
  const cpuBefore = childrenCpuMs();
  const r = await once();
  const cpuMs = childrenCpuMs() - cpuBefore;
  figures.push(r.firstAnswerMs);
  cpuFigures.push(cpuMs);
  console.log(
    `run ${i}: first answered POST /saga after ${r.firstAnswerMs} ms (ready line at ${r.readyLineMs ?? "-"} ms); ` +
      `CPU of the whole run, start to stop: ${cpuMs} ms`,
  );
  await assertPortsFree();
  await sleep(500);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `${command.join(" ")}: first answer median ${median(figures)} ms (min ${Math.min(...figures)}, max ${Math.max(...figures)}); ` +
    `CPU median ${median(cpuFigures)} ms over ${runs} runs`,
);
