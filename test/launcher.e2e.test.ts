import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { checkInvariants, takeSnapshot, UNFINISHED_SAGA_STATUSES } from "../system/invariants.js";
import { PROCESSES, type ProcessName } from "../system/processes.js";

// `npm start` as a user runs it: the launcher (system/main.ts) as a real process with its six
// children. A kill -9 of the orchestrator while sagas are in flight is survived (the launcher
// restarts it and the sagas finish); a process that cannot start stops everything with exit
// code 1; SIGTERM stops all six.
const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Launcher {
  readonly child: ChildProcess;
  readonly dataDir: string;
  readonly output: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first output line matching `pattern` (bounded). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

const launchers: Launcher[] = [];

function startLauncher(env: Record<string, string>): Launcher {
  const dataDir = mkdtempSync(join(tmpdir(), "tp-saga-launcher-"));
  const child = spawn(process.execPath, ["--import", "tsx", "system/main.ts"], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      LOG_LEVEL: "warn",
      GATEWAY_PORT: "0",
      ORCHESTRATOR_PORT: "0",
      CATALOG_PORT: "0",
      PAYMENTS_PORT: "0",
      PURCHASES_PORT: "0",
      INVENTORY_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  let pending = "";
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      output.push(line);
      for (const w of [...waiters]) {
        const m = line.match(w.pattern);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once("exit", (code, signal) => r({ code, signal })),
  );
  const launcher: Launcher = {
    child,
    dataDir,
    output,
    exited,
    waitFor(pattern, timeoutMs) {
      const seen = output.map((l) => l.match(pattern)).find((m) => m !== null);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms:\n${output.slice(-40).join("\n")}`)),
          timeoutMs,
        );
        waiters.push({ pattern, resolve: (m) => (clearTimeout(timer), resolve(m)) });
        void exited.then(() =>
          setTimeout(() => reject(new Error(`the launcher exited before a line matched ${pattern}:\n${output.slice(-40).join("\n")}`)), 100),
        );
      });
    },
  };
  launchers.push(launcher);
  return launcher;
}

/** URLs and PIDs from the launcher's ready message. */
async function ready(l: Launcher): Promise<{ urls: Record<ProcessName, string>; pids: Record<ProcessName, number> }> {
  await l.waitFor(/TP-SAGA is ready/, 120_000);
  const grpc = await l.waitFor(/gRPC: orchestrator (\S+), catalog (\S+), payments (\S+), purchases (\S+), inventory (\S+)$/, 5_000);
  const gateway = await l.waitFor(/gateway on (\S+)/, 5_000);
  const pidLine = await l.waitFor(/pids: (.*) \(/, 5_000);
  const pids = Object.fromEntries(pidLine[1]!.split(", ").map((p) => [p.split(" ")[0], Number(p.split(" ")[1])])) as Record<ProcessName, number>;
  return {
    urls: {
      gateway: gateway[1]!,
      orchestrator: grpc[1]!.replace(/,$/, ""),
      catalog: grpc[2]!.replace(/,$/, ""),
      payments: grpc[3]!.replace(/,$/, ""),
      purchases: grpc[4]!.replace(/,$/, ""),
      inventory: grpc[5]!,
    },
    pids,
  };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterEach(async () => {
  for (const l of launchers.splice(0)) {
    if (l.child.exitCode === null && l.child.signalCode === null) {
      l.child.kill("SIGTERM");
      await l.exited;
    }
    rmSync(l.dataDir, { recursive: true, force: true });
  }
});

describe("npm start supervises its six processes", () => {
  it("restarts an orchestrator killed with SIGKILL while sagas are in flight; the sagas finish; SIGTERM then stops all six", async () => {
    const l = startLauncher({ DEMO_LATENCY_MS: "50-150", SAGA_WAIT_MS: "0" });
    const { urls, pids } = await ready(l);
    expect(Object.keys(pids).sort()).toEqual(PROCESSES.map((p) => p.name).sort());
    const initial = await takeSnapshot(urls);

    // 60 sagas from 12 clients; the gateway answers 202 at once (SAGA_WAIT_MS=0).
    const acknowledged: string[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      while (next < 60) {
        next++;
        const res = await fetch(`${urls.gateway}/saga`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] }),
        }).catch(() => undefined);
        const body = res ? ((await res.json()) as { sagaId?: string }) : undefined;
        if (res && [200, 202, 409].includes(res.status) && body?.sagaId) acknowledged.push(body.sagaId);
      }
    };
    const clients = Promise.all(Array.from({ length: 12 }, client));
    const orchestrator = createServiceClient(OrchestratorService, urls.orchestrator, { timeoutMs: 5_000 });
    let inFlight = 0;
    for (const until = Date.now() + 30_000; Date.now() < until && next < 60;) {
      inFlight = (await orchestrator.listSagas({ statuses: [...UNFINISHED_SAGA_STATUSES], pageSize: 1000 })).sagas.length;
      if (inFlight >= 5) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    orchestrator.close();
    process.kill(pids.orchestrator, "SIGKILL");
    await clients;
    expect(inFlight).toBeGreaterThanOrEqual(5);

    await l.waitFor(/orchestrator exited unexpectedly \(code null, signal SIGKILL\)/, 10_000);
    const restarted = await l.waitFor(/orchestrator: restarted \(pid (\d+)\)/, 90_000);
    const newPid = Number(restarted[1]);
    expect(newPid).not.toBe(pids.orchestrator);
    expect(alive(newPid)).toBe(true);
    const resumed = l.output
      .filter((line) => line.includes('"service":"orchestrator"') && line.includes('"resumed"'))
      .at(-1)
      ?.match(/"resumed":(\d+)/);

    // Every acknowledged saga ends terminal at the restarted orchestrator.
    const after = createServiceClient(OrchestratorService, urls.orchestrator, { timeoutMs: 5_000 });
    try {
      let unfinished = Infinity;
      for (const until = Date.now() + 60_000; unfinished > 0 && Date.now() < until;) {
        unfinished = (await after.listSagas({ statuses: [...UNFINISHED_SAGA_STATUSES], pageSize: 1000 })).sagas.length;
        if (unfinished > 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(unfinished).toBe(0);
      for (const id of acknowledged) {
        const { saga } = await after.getSaga({ sagaId: id });
        expect([SagaStatus.COMPLETED, SagaStatus.COMPENSATED]).toContain(saga?.status);
      }
    } finally {
      after.close();
    }
    const report = await checkInvariants(urls, initial);
    expect(report.violations).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    console.log(
      `launcher: ${inFlight} sagas in flight at the kill, ${acknowledged.length} acknowledged, resumed by the new orchestrator: ${resumed?.[1] ?? "?"}`,
    );

    // SIGTERM to the launcher stops all six and exits 0.
    l.child.kill("SIGTERM");
    expect(await l.exited).toEqual({ code: 0, signal: null });
    for (const [name, pid] of Object.entries({ ...pids, orchestrator: newPid })) expect(alive(pid), `${name} (pid ${pid}) still alive`).toBe(false);
    expect(l.output.join("\n")).toContain("TP-SAGA stopped.");
  }, 240_000);

  it("stops everything with exit code 1 when a process keeps crashing at start", async () => {
    const l = startLauncher({});
    const { pids } = await ready(l);
    // The orchestrator's log becomes unopenable (a directory where its SQLite file was):
    // every start after the kill fails.
    for (const f of ["orchestrator.db", "orchestrator.db-wal", "orchestrator.db-shm"]) rmSync(join(l.dataDir, f), { force: true });
    mkdirSync(join(l.dataDir, "orchestrator.db"));
    process.kill(pids.orchestrator, "SIGKILL");

    const done = await Promise.race([l.exited, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 150_000))]);
    expect(done).toEqual({ code: 1, signal: null });
    const text = l.output.join("\n");
    expect(text).toMatch(/orchestrator: start failed: orchestrator exited \(code 1, signal null\) before it was healthy/);
    expect(text).toContain("TP-SAGA: orchestrator keeps crashing at start: 5 failed starts in a row; stopping everything");
    expect(text).toContain("TP-SAGA stopped.");
    for (const [name, pid] of Object.entries(pids)) expect(alive(pid), `${name} (pid ${pid}) still alive`).toBe(false);
  }, 240_000);
});
