import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { SignJWT } from "jose";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OrchestratorService, SagaStatus } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { startFixture, type SystemFixture } from "./system-fixture.js";

// The saga console and the operator API end to end: six real processes with operator
// credentials configured, the REST operator actions and the Connect API answered by the real
// gateway, and the console driven in Debian's Chromium (playwright-core) — sagas appear live, a
// timeline opens, an operator retries a NEEDS_ATTENTION saga and sees its history change.

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const ALICE_KEY = "alice-console-key-0123456789";
const JWT_SECRET = "console-test-secret-of-at-least-32-bytes";
const ORDER = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };

let fx: SystemFixture;
let gateway: string;

const operatorPost = async (path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${ALICE_KEY}` }) => {
  const res = await fetch(`${gateway}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
};
const connectClient = (credential?: string) =>
  createClient(
    OrchestratorService,
    createConnectTransport({
      baseUrl: `${gateway}/api`,
      httpVersion: "1.1",
      interceptors: [(next) => (req) => (credential && req.header.set("authorization", `Bearer ${credential}`), next(req))],
    }),
  );
const codeOf = async (call: Promise<unknown>): Promise<Code | "ok"> =>
  call.then(
    () => "ok" as const,
    (err: unknown) => ConnectError.from(err).code,
  );

/** Waits until `check` holds, polling every 250 ms, for at most `ms`. */
async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)`);
  fx = await startFixture({
    envOf: {
      gateway: { OPERATOR_API_KEYS: `alice:${ALICE_KEY}`, OPERATOR_JWT_SECRET: JWT_SECRET },
      // A saga whose payments call cannot get through needs attention within seconds, not minutes.
      // (Actions keep their default attempts: a slow call on a loaded machine must not turn a saga that should complete into a compensated one.)
      orchestrator: { COMPENSATION_MAX_ATTEMPTS: "2" },
    },
  });
  gateway = fx.system.urls.gateway;
}, 180_000);

afterAll(async () => {
  await fx?.close();
}, 60_000);

describe("operator authentication and the REST operator actions", () => {
  it("answers 401 without a credential, 403 with a wrong one, and 400 / 404 / 409 past a right one (API key or JWT)", async () => {
    const done = await fx.post("/saga", ORDER);
    expect(done.status).toBe(200);
    const sagaId: string = done.body.sagaId;

    const none = await operatorPost(`/sagas/${sagaId}/resolve`, { reason: "x" }, {});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(none.body.error).toMatch(/credential: missing/);
    expect((await operatorPost(`/sagas/${sagaId}/resolve`, { reason: "x" }, { authorization: "Bearer wrong-key-0123456789abc" })).status).toBe(403);

    const noReason = await operatorPost(`/sagas/${sagaId}/resolve`, {});
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toMatch(/^reason: required/);
    expect((await operatorPost(`/sagas/${sagaId}/retry`, { reason: "x", actor: "mallory" })).body.error).toMatch(/^actor: not a body field/);
    expect((await operatorPost("/sagas/no-such-saga/retry", { reason: "x" })).status).toBe(404);
    const notAllowed = await operatorPost(`/sagas/${sagaId}/resolve`, { reason: "nothing to resolve" });
    expect(notAllowed.status).toBe(409);
    expect(notAllowed.body.code).toBeUndefined();

    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("carol")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(JWT_SECRET));
    expect((await operatorPost(`/sagas/${sagaId}/force-compensate`, { reason: "too late" }, { authorization: `Bearer ${jwt}` })).status).toBe(409);
    // The saga is as it was: nothing refused changed it.
    expect((await fx.get(`/saga/${sagaId}`)).body).toMatchObject({ status: "COMPLETED", operatorActions: [] });
  });

  it("guards the Connect API the same way: UNAUTHENTICATED, PERMISSION_DENIED, then the orchestrator's answers", async () => {
    expect(await codeOf(connectClient().listSagas({}))).toBe(Code.Unauthenticated);
    expect(await codeOf(connectClient("wrong-key-0123456789abc").listSagas({}))).toBe(Code.PermissionDenied);
    const raw = await fetch(`${gateway}/api/saga.orchestrator.v1.OrchestratorService/ListSagas`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(raw.status).toBe(401);

    const alice = connectClient(ALICE_KEY);
    const page = await alice.listSagas({ pageSize: 10 });
    expect(page.sagas.length).toBeGreaterThan(0);
    const sagaId = page.sagas[0]!.sagaId;
    expect((await alice.getSaga({ sagaId })).saga?.sagaId).toBe(sagaId);
    expect(await codeOf(alice.resolveSaga({ sagaId, reason: "" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(alice.resolveSaga({ sagaId, reason: "x", actor: "mallory" }))).toBe(Code.InvalidArgument);
    expect(await codeOf(alice.resolveSaga({ sagaId, reason: "not in NEEDS_ATTENTION" }))).toBe(Code.FailedPrecondition);
    expect(await codeOf(alice.startSaga({ order: ORDER }))).toBe(Code.Unimplemented);
  });
});

describe("the console in Chromium", () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), "tp-saga-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1440, height: 720 },
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  }, 30_000);

  it("shows sagas as they start, draws a timeline, and lets an operator retry a NEEDS_ATTENTION saga", async () => {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(60_000);
    const failures: string[] = [];
    page.on("pageerror", (err) => failures.push(err.message));

    await page.goto(`${gateway}/console`);
    // Without a credential the console says what is missing.
    await page.getByTestId("problem").filter({ hasText: "Credential needed" }).waitFor();
    await page.getByTestId("credential-input").fill(ALICE_KEY);
    await page.getByTestId("credential-save").click();
    await page.getByTestId("live").filter({ hasText: "live" }).waitFor();
    await page.getByTestId("problem").waitFor({ state: "detached" });

    // Sagas started now appear without a reload (the WatchSagas stream).
    const started = await Promise.all([ORDER, ORDER, ORDER, { ...ORDER, customerId: "customer-2" }].map((order) => fx.post("/saga", order)));
    for (const saga of started) {
      expect(saga.status).toBe(200);
      await page.locator(`[data-testid=saga-row][data-saga-id="${saga.body.sagaId}"]`).waitFor();
    }
    // Filters: by customer (this page), by status and by creation time (the orchestrator's).
    const rows = page.getByTestId("saga-row");
    await page.getByTestId("filter-customer").fill("customer-2");
    await page.locator(`[data-testid=saga-row][data-saga-id="${started[3]!.body.sagaId}"]`).waitFor();
    await rows.nth(1).waitFor({ state: "detached" });
    await page.getByTestId("filter-customer").fill("");
    await page.getByTestId("filter-from").fill("2099-01-01T00:00");
    await rows.first().waitFor({ state: "detached" });
    await page.getByTestId("filter-from").fill("");
    await page.getByTestId("filter-status").selectOption("COMPENSATED");
    await rows.first().waitFor({ state: "detached" });
    await page.getByTestId("filter-status").selectOption("");
    await page.locator(`[data-testid=saga-row][data-saga-id="${started[0]!.body.sagaId}"]`).waitFor();
    await page
      .getByTestId("count-COMPLETED")
      .filter({ hasText: /^[4-9]/ })
      .waitFor();

    const first: string = started[0]!.body.sagaId;
    await page.locator(`[data-testid=saga-row][data-saga-id="${first}"][data-status=COMPLETED]`).waitFor();
    await page.locator(`[data-testid=saga-row][data-saga-id="${first}"]`).click();
    await page.locator("[data-testid=timeline-row][data-phase=confirmation][data-step=take-stock][data-status=SUCCEEDED]").waitFor();
    const phases = await page.getByTestId("timeline-row").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-phase")));
    expect(phases.filter((phase) => phase === "action")).toHaveLength(4);
    expect(phases.filter((phase) => phase === "confirmation")).toHaveLength(3);

    // Payments down: the next sagas' payment outcome is unknown, its void cannot get through, and they need attention.
    await fx.system.kill("payments");
    const stuck = await Promise.all([1, 2].map(() => fx.post("/saga", ORDER)));
    const [toRetry, toResolve] = stuck.map((saga) => saga.body.sagaId as string) as [string, string];
    for (const sagaId of [toRetry, toResolve])
      await until(`${sagaId} to need attention`, 90_000, async () =>
        (await fx.get(`/saga/${sagaId}`)).body.status === "NEEDS_ATTENTION" ? true : undefined,
      );
    const item = page.locator(`[data-testid=attention-item][data-saga-id="${toRetry}"]`);
    await item.waitFor();
    await page.locator(`[data-testid=attention-item][data-saga-id="${toResolve}"]`).waitFor();
    await expect(item.getByTestId("action-retry").isDisabled()).resolves.toBe(true);

    // One resolved by hand over REST, the other retried from the console once payments is back.
    const resolved = await operatorPost(`/sagas/${toResolve}/resolve`, { reason: "voided by hand in the payments ledger" });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ status: "RESOLVED", operatorActions: [{ kind: "saga-resolved", actor: "alice" }] });
    await page.locator(`[data-testid=attention-item][data-saga-id="${toResolve}"]`).waitFor({ state: "detached" });

    await fx.system.restart("payments");
    await item.locator("a").click();
    await page.locator("[data-testid=timeline-row][data-phase=compensation][data-step=charge-payment][data-status=FAILED]").waitFor();
    // The counts follow (they are read at most every 3 s).
    await page
      .getByTestId("count-NEEDS_ATTENTION")
      .filter({ hasText: /^1NEEDS_ATTENTION$/ })
      .waitFor();
    await page
      .getByTestId("count-RESOLVED")
      .filter({ hasText: /^1RESOLVED$/ })
      .waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "console-needs-attention.png"), fullPage: true });
    // The operator retries from the console until the void gets through. The first retry may
    // not: the orchestrator's channel to payments reconnects on grpc-js's backoff, which grows
    // while payments is down, and a retry has COMPENSATION_MAX_ATTEMPTS (2) calls. A retry that
    // fails sends the saga back to the queue, as it would at 3 a.m.
    let retries = 0;
    const lastErrors: string[] = [];
    for (let settled = false; !settled;) {
      if (++retries > 30) throw new Error(`the void did not get through after 30 retries: ${lastErrors.join(" | ")}`);
      await item.getByTestId("action-reason").fill("payments is back up");
      await item.getByTestId("action-retry").click();
      const outcome = await until(`the retry ${retries} to settle`, 90_000, async () => {
        const refused = item.getByTestId("action-outcome").filter({ hasText: "refused" });
        if ((await refused.count()) > 0) throw new Error(`retry ${retries}: ${await refused.textContent()}`);
        const saga = (await fx.get(`/saga/${toRetry}`)).body;
        return saga.operatorActions.length === retries && ["COMPENSATED", "NEEDS_ATTENTION"].includes(saga.status) ? saga : undefined;
      });
      settled = outcome.status === "COMPENSATED";
      if (!settled) lastErrors.push(String(outcome.steps.at(-1)?.lastError?.message));
      else await item.waitFor({ state: "detached" });
      if (!settled) await item.getByTestId("action-retry").waitFor();
    }
    if (retries > 1) console.log(`console test: the void got through on retry ${retries}; before: ${lastErrors.join(" | ")}`);
    await page.locator(`[data-testid=saga-row][data-saga-id="${toRetry}"][data-status=COMPENSATED]`).waitFor();
    const action = page.locator("[data-testid=operator-action][data-kind=saga-retried]");
    await action.first().waitFor();
    expect(await action.count()).toBe(retries);
    expect(await action.first().textContent()).toMatch(/alice.*payments is back up/s);
    await page.locator("[data-testid=timeline-row][data-phase=compensation][data-step=charge-payment][data-status=SUCCEEDED]").waitFor();

    const history = (await fx.get(`/saga/${toRetry}`)).body;
    expect(history.status).toBe("COMPENSATED");
    expect(history.operatorActions).toHaveLength(retries);
    for (const retry of history.operatorActions) expect(retry).toMatchObject({ kind: "saga-retried", actor: "alice", reason: "payments is back up" });
    const byStatus = await connectClient(ALICE_KEY).listSagas({ statuses: [SagaStatus.NEEDS_ATTENTION] });
    expect(byStatus.sagas).toHaveLength(0);

    await page
      .getByTestId("count-COMPENSATED")
      .filter({ hasText: /^1COMPENSATED$/ })
      .waitFor();
    await page
      .getByTestId("count-NEEDS_ATTENTION")
      .filter({ hasText: /^0NEEDS_ATTENTION$/ })
      .waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "console.png"), fullPage: true });
    expect(failures).toEqual([]);
  }, 300_000);
});
