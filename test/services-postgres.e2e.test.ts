import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CatalogService } from "#gen/saga/catalog/v1/catalog_pb.js";
import { InventoryService } from "#gen/saga/inventory/v1/inventory_pb.js";
import { PaymentStatus, PaymentsService } from "#gen/saga/payments/v1/payments_pb.js";
import { PurchasesService } from "#gen/saga/purchases/v1/purchases_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "#gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "#platform/grpc-client.js";
import { createTestDatabase, type TestDatabase } from "#platform/postgres-test-database.js";
import { startRelay } from "#platform/postgres-test-relay.js";

// The four services as real processes on PostgreSQL (DATABASE_URL, each its own database): they
// migrate, seed once, serve, stop on SIGTERM and find their rows again on restart. A service whose
// PostgreSQL cannot be reached retries, then stops with a line naming host and database, never
// the password.
const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface ServiceProcess {
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first output line matching `pattern`; rejects after `timeoutMs` or when the process exits first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  stop(): Promise<number | null>;
}

function startService(name: string, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, ["--import", "tsx", `services/${name}/main.ts`], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", DATA_DIR: ":memory:", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  let pending = "";
  const onData = (chunk: Buffer): void => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    output.push(...lines);
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    output,
    exited,
    async waitFor(pattern, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const seen = output.map((l) => l.match(pattern)).find((m) => m !== null);
        if (seen) return seen;
        if (done || Date.now() > deadline)
          throw new Error(`${name}: no line matching ${pattern}${done ? " before it exited" : ""}:\n${output.join("\n")}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (!done) child.kill("SIGTERM");
      return exited;
    },
  };
}

const databases: TestDatabase[] = [];
const running: ServiceProcess[] = [];
const NAMES = ["catalog", "payments", "purchases", "inventory"] as const;
const urlOf = async (p: ServiceProcess) => JSON.parse((await p.waitFor(/"msg":"listening"/, 60_000)).input!) as { url: string; database: string };

beforeAll(async () => {
  for (const name of NAMES) databases.push(await createTestDatabase(`svc_${name}`));
}, 60_000);

afterAll(async () => {
  for (const p of running.splice(0)) await p.stop();
  for (const d of databases) await d.drop();
});

describe("the four services on PostgreSQL", () => {
  it("start on their own databases, seed once, serve, and keep their rows across a restart", async () => {
    const urls = Object.fromEntries(NAMES.map((name, i) => [name, databases[i]!.url])) as Record<(typeof NAMES)[number], string>;
    const procs = NAMES.map((name) => startService(name, { DATABASE_URL: urls[name] }));
    running.push(...procs);
    const [catalog, payments, purchases, inventory] = await Promise.all(procs.map(urlOf));
    expect(payments!.database).toMatch(/^PostgreSQL host 127\.0\.0\.1 port \d+, database "svc_payments_/);

    const prices = createServiceClient(CatalogService, catalog!.url);
    expect((await prices.priceOrder({ lines: [{ productId: "mouse", quantity: 2 }] })).totalCents).toBe(5_000n);
    prices.close();
    const pay = createServiceClient(PaymentsService, payments!.url);
    expect((await pay.authorizePayment({ idempotencyKey: "e2e-1", customerId: "customer-2", amountCents: 1_000n })).payment?.status).toBe(
      PaymentStatus.AUTHORIZED,
    );
    pay.close();
    const buy = createServiceClient(PurchasesService, purchases!.url);
    await buy.processPurchase({
      idempotencyKey: "e2e-1",
      customerId: "customer-2",
      lines: [{ productId: "mouse", quantity: 2, unitPriceCents: 2_500n }],
      totalCents: 5_000n,
    });
    buy.close();
    const stock = createServiceClient(InventoryService, inventory!.url);
    await stock.reserveStock({ idempotencyKey: "e2e-1", lines: [{ productId: "mouse", quantity: 2 }] });
    expect((await stock.getStock({ productId: "mouse" })).stock).toMatchObject({ reserved: 2n });
    stock.close();
    for (const p of procs) expect(p.output.join("\n")).not.toMatch(/"level":50|"level":60/);

    // Restart payments on the same database: no second seed, the hold is still there.
    expect(await procs[1]!.stop()).toBe(0);
    const again = startService("payments", { DATABASE_URL: urls.payments });
    running.push(again);
    const client = createServiceClient(PaymentsService, (await urlOf(again)).url);
    expect((await client.getAccount({ customerId: "customer-2" })).account).toMatchObject({ balanceCents: 500_000n, heldCents: 1_000n });
    client.close();
    expect(procs[1]!.output.some((l) => l.includes("seeded demo accounts"))).toBe(true);
    expect(again.output.some((l) => l.includes("seeded demo accounts"))).toBe(false);
  }, 120_000);

  it("stops with a clear error naming host and database, never the password, after retrying an unreachable server", async () => {
    // Port 23999 of this machine: nothing listens there (the tests' own port range).
    const p = startService("payments", { DATABASE_URL: "postgresql://svc:Sup3rSecretPw@127.0.0.1:23999/paydb" });
    running.push(p);
    expect(await p.exited).toBe(1);
    const all = p.output.join("\n");
    expect(all).toContain("not reachable yet; retrying");
    expect(all).toMatch(
      /cannot start: PostgreSQL at host 127\.0\.0\.1 port 23999, database \\"paydb\\", user \\"svc\\": unreachable after 10 attempts/,
    );
    expect(all).not.toContain("Sup3rSecretPw");
  }, 60_000);

  it("answers health NOT_SERVING while its database does not answer, and SERVING again once it does", async () => {
    const relay = await startRelay(databases[1]!.url);
    const p = startService("payments", { DATABASE_URL: relay.url, STORE_PROBE_MS: "100" });
    running.push(p);
    const health = createServiceClient(Health, (await urlOf(p)).url);
    const statusBecomes = async (wanted: HealthCheckResponse_ServingStatus): Promise<void> => {
      let status: HealthCheckResponse_ServingStatus | undefined;
      for (let i = 0; i < 200 && status !== wanted; i++) {
        status = (await health.check({ service: PaymentsService.typeName }, { timeoutMs: 2_000 })).status;
        if (status !== wanted) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toBe(wanted);
    };
    try {
      await statusBecomes(HealthCheckResponse_ServingStatus.SERVING);
      relay.cut();
      await statusBecomes(HealthCheckResponse_ServingStatus.NOT_SERVING);
      relay.restore();
      await statusBecomes(HealthCheckResponse_ServingStatus.SERVING);
      const pay = createServiceClient(PaymentsService, (await urlOf(p)).url);
      expect((await pay.getAccount({ customerId: "customer-3" })).account?.customerId).toBe("customer-3");
      pay.close();
      expect(p.output.join("\n")).toMatch(/payments database unreachable: health NOT_SERVING until it answers/);
      expect(p.output.join("\n")).toMatch(/payments database answers again: health SERVING/);
    } finally {
      health.close();
      await p.stop();
      await relay.close();
    }
  }, 120_000);
});
