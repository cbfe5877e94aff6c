import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { OrchestratorService } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { PLAINTEXT_GRPC, readGrpcTls, type GrpcTls } from "#platform/grpc-tls.js";
import { makeTestCertificates, type TestCertificates } from "#platform/test-certificates.js";
import { startSystem, type RunningSystem } from "../system/start-system.js";

// The six real processes with every wire secured, as an operator would configure them: gRPC
// over mutual TLS between all of them (the orchestrator's Exchange streams to the services,
// the gateway's to the orchestrator, the launcher's health checks), the gateway on HTTPS, and
// POST /saga behind API keys with a rate limit. Certificates are made by the test (openssl).
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const KEY = "e2e-0123456789abcdef";

let pki: TestCertificates;
let dataDir: string;
let system: RunningSystem;
let ca: Buffer;
const logs: string[] = [];

beforeAll(async () => {
  pki = await makeTestCertificates();
  ca = readFileSync(pki.caCert);
  dataDir = mkdtempSync(join(tmpdir(), "tp-saga-tls-"));
  system = await startSystem({
    dataDir,
    ports: { catalog: 0, payments: 0, purchases: 0, inventory: 0, orchestrator: 0, gateway: 0 },
    env: {
      LOG_LEVEL: "warn",
      GRPC_TLS_CERT: pki.serverCert,
      GRPC_TLS_KEY: pki.serverKey,
      GRPC_TLS_CA: pki.caCert,
      GRPC_TLS_CLIENT_AUTH: "require",
      HTTPS_CERT: pki.serverCert,
      HTTPS_KEY: pki.serverKey,
      SAGA_API_KEYS: `e2e:${KEY}`,
      SAGA_RATE_LIMIT: "1/h",
      SAGA_RATE_BURST: "4",
    },
    onLine: (name, line) => void logs.push(`[${name}] ${line}`),
    readyTimeoutMs: 120_000,
  });
}, 180_000);

afterAll(async () => {
  await system?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  pki?.remove();
}, 60_000);

function postSaga(headers: Record<string, string>): Promise<{ status: number; retryAfter?: string; body: { sagaId?: string; mensaje?: string } }> {
  return new Promise((resolve, reject) => {
    const req = request(`${system.urls.gateway}/saga`, { method: "POST", ca, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode!, retryAfter: res.headers["retry-after"], body: JSON.parse(text) }));
    });
    req.setTimeout(30_000, () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", reject);
    req.end();
  });
}

async function getSaga(tls: GrpcTls, url = system.urls.orchestrator): Promise<unknown> {
  const client = createServiceClient(OrchestratorService, url, { tls, timeoutMs: 10_000 });
  try {
    return await client.listSagas({ pageSize: 1 });
  } finally {
    client.close();
  }
}

describe("six processes over mutual TLS, the gateway on HTTPS", () => {
  it("every process listens on https", () => {
    for (const url of Object.values(system.urls)) expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("runs a saga end to end with an API key", async () => {
    const answer = await postSaga({ authorization: `Bearer ${KEY}` });
    expect(answer).toMatchObject({ status: 200, body: { mensaje: "Saga completada con éxito" } });
  });

  it("refuses POST /saga without a key (401) and with a wrong one (403)", async () => {
    expect((await postSaga({})).status).toBe(401);
    expect((await postSaga({ "x-api-key": `${KEY}-wrong` })).status).toBe(403);
  });

  it("the orchestrator serves a gRPC client with a certificate of the CA, and refuses one without, or a plaintext one", async () => {
    const client = readGrpcTls({ GRPC_TLS_CERT: pki.clientCert, GRPC_TLS_KEY: pki.clientKey, GRPC_TLS_CA: pki.caCert });
    expect(await getSaga(client)).toMatchObject({ sagas: [expect.objectContaining({ sagaId: expect.any(String) })] });
    await expect(getSaga(readGrpcTls({ GRPC_TLS_CA: pki.caCert }))).rejects.toMatchObject({ code: Code.Unavailable });
    await expect(getSaga(PLAINTEXT_GRPC, system.urls.orchestrator.replace("https:", "http:"))).rejects.toMatchObject({ code: Code.Unavailable });
  });

  it("a restarted orchestrator is seen healthy over mutual TLS, and sagas run again", async () => {
    await system.kill("orchestrator");
    await system.restart("orchestrator");
    expect((await postSaga({ "x-api-key": KEY })).status).toBe(200);
  }, 180_000);

  it("a key past its burst gets 429 with Retry-After up to an hour", async () => {
    // Burst 4, two spent above: two more pass, then the bucket is empty and refills at 1/h.
    let answer = await postSaga({ "x-api-key": KEY });
    for (let i = 0; i < 3 && answer.status === 200; i++) answer = await postSaga({ "x-api-key": KEY });
    expect(answer.status).toBe(429);
    const seconds = Number(answer.retryAfter);
    expect(Number.isInteger(seconds)).toBe(true);
    expect(seconds).toBeGreaterThan(3000);
    expect(seconds).toBeLessThanOrEqual(3600);
  });
});

/** Runs one process alone with `env` until it exits (bounded); its output and exit code. */
function runAlone(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", entry], {
      cwd: ROOT,
      env: { ...process.env, HOST: "127.0.0.1", PORT: "0", DATA_DIR: ":memory:", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} still running after 60 s: ${output}`));
    }, 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("a bad certificate file stops a process at start, naming the variable and the path", () => {
  it("a service with a missing certificate", async () => {
    const missing = join(pki.dir, "missing.crt");
    const { code, output } = await runAlone("services/catalog/main.ts", { GRPC_TLS_CERT: missing, GRPC_TLS_KEY: pki.serverKey });
    expect(code).toBe(1);
    expect(output).toContain(`GRPC_TLS_CERT=${missing}: cannot read the file (ENOENT)`);
    expect(output).not.toContain('"listening"');
  }, 90_000);

  it("the gateway with an HTTPS key that is not its certificate's", async () => {
    const { code, output } = await runAlone("gateway/main.ts", { HTTPS_CERT: pki.serverCert, HTTPS_KEY: pki.clientKey });
    expect(code).toBe(1);
    expect(output).toContain(`HTTPS_KEY=${pki.clientKey} is not the private key of the certificate in HTTPS_CERT=${pki.serverCert}`);
  }, 90_000);

  it("the launcher, before it starts anything, with a certificate the CA did not sign", async () => {
    const started: string[] = [];
    await expect(
      startSystem({
        dataDir: ":memory:",
        ports: { catalog: 0, payments: 0, purchases: 0, inventory: 0, orchestrator: 0, gateway: 0 },
        env: { GRPC_TLS_CERT: pki.otherCert, GRPC_TLS_KEY: pki.otherKey, GRPC_TLS_CA: pki.caCert },
        onLine: (name) => void started.push(name),
      }),
    ).rejects.toThrow(`the certificate in GRPC_TLS_CERT=${pki.otherCert}`);
    expect(started).toEqual([]);
  });
});
