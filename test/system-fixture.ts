import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSystem, type RunningSystem, type SystemOptions } from "../system/start-system.js";
import { takeSnapshot, type Snapshot } from "../system/invariants.js";

/** Six real processes on free ports over a fresh temp data directory, for one test file. */
export interface SystemFixture {
  readonly system: RunningSystem;
  readonly initial: Snapshot;
  readonly dataDir: string;
  readonly logs: string[];
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startFixture(options: Partial<SystemOptions> = {}): Promise<SystemFixture> {
  const dataDir = mkdtempSync(join(tmpdir(), "tp-saga-"));
  const logs: string[] = [];
  const system = await startSystem({
    dataDir,
    ports: { catalog: 0, payments: 0, purchases: 0, inventory: 0, orchestrator: 0, gateway: 0 },
    onLine: (name, line) => void logs.push(`[${name}] ${line}`),
    ...options,
  });
  const initial = await takeSnapshot(system.urls);
  const gateway = (): string => system.urls.gateway;
  return {
    system,
    initial,
    dataDir,
    logs,
    async post(path, body, headers = {}) {
      const init: RequestInit = { method: "POST", headers: { ...headers } };
      if (body !== undefined) {
        init.body = typeof body === "string" ? body : JSON.stringify(body);
        (init.headers as Record<string, string>)["content-type"] ??= "application/json";
      }
      const res = await fetch(`${gateway()}${path}`, init);
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
    },
    async get(path) {
      const res = await fetch(`${gateway()}${path}`);
      return { status: res.status, body: await res.json() };
    },
    async close() {
      await system.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
