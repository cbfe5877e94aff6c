import { describe, expect, it } from "vitest";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { OrchestratorService, SagaStatus, StepPhase } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import { createRunner } from "./engine/runner.js";
import { defineSaga, step } from "./engine/saga.js";
import { InMemorySagaStore } from "./engine/saga-store.js";
import type { Json } from "./engine/json.js";
import { ORDER_SAGA, ORDER_STEPS } from "./order-saga/order-saga.js";
import { orchestratorHandlers } from "./handlers.js";

// The orchestrator's API over the real engine, reached through Connect's in-memory
// transport. The saga is a stand-in with the order saga's name and step names, whose steps
// do what each test tells them (hang, fail), so every status can be reached on purpose.
type Behaviour = "ok" | "hang" | "fail";

function orchestrator() {
  const behaviour = {
    action: new Map<string, Behaviour>(),
    compensation: new Map<string, Behaviour>(),
    confirmation: new Map<string, Behaviour>(),
  };
  const act = async (kind: keyof typeof behaviour, name: string): Promise<void> => {
    const b = behaviour[kind].get(name) ?? "ok";
    if (b === "hang") await new Promise<never>(() => {});
    if (b === "fail") throw new Error(`${name} ${kind} failed`);
  };
  const quick = { initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 60_000 };
  const steps = Object.values(ORDER_STEPS).map((name) =>
    step<unknown>(
      name,
      async (): Promise<Json> => {
        await act("action", name);
        return name === ORDER_STEPS.price ? { totalCents: 2500 } : { ok: true };
      },
      {
        retry: { ...quick, maxAttempts: 1 },
        compensationRetry: { ...quick, attentionAfter: 2 },
        confirmationRetry: { ...quick, attentionAfter: 2 },
        compensate: () => act("compensation", name),
        confirm: () => act("confirmation", name),
      },
    ),
  );
  const runner = createRunner({
    store: new InMemorySagaStore(),
    definitions: [defineSaga(ORDER_SAGA, 1, steps)],
    isRetryable: () => false,
    describeError: (e) => ({ code: "FAILED_PRECONDITION", message: (e as Error).message }),
  });
  const client = createClient(
    OrchestratorService,
    createRouterTransport((r) => r.service(OrchestratorService, orchestratorHandlers(runner))),
  );
  return { client, runner, behaviour };
}

const order = { customerId: "customer-1", items: [{ productId: "mouse", quantity: 1 }] };
const who = { actor: "ops@example.com", reason: "the customer called to cancel" };

async function codeOf(call: Promise<unknown>): Promise<[Code, string]> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    return [e.code, e.rawMessage];
  }
  throw new Error("the call succeeded");
}

describe("orchestrator API: confirmations and operator actions", () => {
  it("StartSaga answers once the outcome is decided (CONFIRMING), and GetSaga shows the confirmation phase", async () => {
    const { client, runner, behaviour } = orchestrator();
    behaviour.confirmation.set(ORDER_STEPS.stock, "hang");
    const { saga } = await client.startSaga({ order, waitMs: 30_000 });
    expect(saga?.status).toBe(SagaStatus.CONFIRMING);
    const full = (await client.getSaga({ sagaId: saga!.sagaId })).saga!;
    expect(full.steps.filter((s) => s.phase === StepPhase.ACTION).map((s) => s.name)).toEqual(Object.values(ORDER_STEPS));
    // Confirmations' starts and successes ride along with the saga's next durable write,
    // which the hanging one holds back: the log shows the decision, not them yet.
    expect(full.steps.filter((s) => s.phase === StepPhase.CONFIRMATION)).toEqual([]);
    expect(await codeOf(client.forceCompensateSaga({ sagaId: saga!.sagaId, ...who }))).toEqual([
      Code.FailedPrecondition,
      expect.stringMatching(/decided/),
    ]);
    expect((await client.listSagas({ statuses: [SagaStatus.CONFIRMING] })).sagas.map((s) => s.sagaId)).toEqual([saga!.sagaId]);
    await runner.close();
  });

  it("ForceCompensateSaga turns a RUNNING saga and records who and why in its history", async () => {
    const { client, runner, behaviour } = orchestrator();
    behaviour.action.set(ORDER_STEPS.purchase, "hang");
    const { saga } = await client.startSaga({ order, waitMs: 0 });
    await new Promise((r) => setImmediate(r));
    const turned = (await client.forceCompensateSaga({ sagaId: saga!.sagaId, ...who })).saga!;
    expect(turned.status).toBe(SagaStatus.COMPENSATING);
    await runner.idle();
    const done = (await client.getSaga({ sagaId: saga!.sagaId })).saga!;
    expect(done.status).toBe(SagaStatus.COMPENSATED);
    expect(done.errorCode).toBe("ABORTED");
    expect(done.operatorActions.map((a) => [a.kind, a.actor, a.reason, a.status])).toEqual([
      ["saga-compensation-forced", who.actor, who.reason, SagaStatus.COMPENSATING],
    ]);
  });

  it("RetrySaga, ForceCompensateSaga and ResolveSaga refuse a missing actor or reason before anything else", async () => {
    const { client, runner } = orchestrator();
    const { saga } = await client.startSaga({ order, waitMs: 30_000 });
    expect(saga?.status).toBe(SagaStatus.CONFIRMING); // answered at the decision
    await runner.idle();
    const completed = (await client.getSaga({ sagaId: saga!.sagaId })).saga!;
    expect(completed.status).toBe(SagaStatus.COMPLETED);
    expect(
      completed.steps
        .filter((s) => s.phase === StepPhase.CONFIRMATION)
        .map((s) => s.name)
        .sort(),
    ).toEqual(Object.values(ORDER_STEPS).sort());
    for (const call of [client.retrySaga, client.forceCompensateSaga, client.resolveSaga]) {
      expect(await codeOf(call({ sagaId: saga!.sagaId, actor: who.actor }))).toEqual([Code.InvalidArgument, expect.stringMatching(/^reason: /)]);
      expect(await codeOf(call({ sagaId: saga!.sagaId, reason: who.reason }))).toEqual([Code.InvalidArgument, expect.stringMatching(/^actor: /)]);
      expect(await codeOf(call({ sagaId: "", ...who }))).toEqual([Code.InvalidArgument, expect.stringMatching(/^saga_id: /)]);
      expect(await codeOf(call({ sagaId: "unknown-saga", ...who }))).toEqual([Code.NotFound, expect.any(String)]);
      expect((await codeOf(call({ sagaId: saga!.sagaId, ...who })))[0]).toBe(Code.FailedPrecondition);
    }
    expect((await client.getSaga({ sagaId: saga!.sagaId })).saga?.operatorActions).toEqual([]);
  });

  it("ResolveSaga closes a NEEDS_ATTENTION saga as RESOLVED; RetrySaga of a decided one confirms again", async () => {
    const { client, runner, behaviour } = orchestrator();
    behaviour.action.set(ORDER_STEPS.stock, "fail");
    behaviour.compensation.set(ORDER_STEPS.charge, "fail");
    const { saga: stuck } = await client.startSaga({ order, waitMs: 30_000 });
    expect(stuck?.status).toBe(SagaStatus.NEEDS_ATTENTION);
    const resolved = (await client.resolveSaga({ sagaId: stuck!.sagaId, ...who })).saga!;
    expect(resolved.status).toBe(SagaStatus.RESOLVED);
    expect(resolved.operatorActions[0]).toMatchObject({ kind: "saga-resolved", actor: who.actor, status: SagaStatus.RESOLVED });
    expect((await client.listSagas({ statuses: [SagaStatus.RESOLVED] })).sagas.map((s) => s.sagaId)).toEqual([stuck!.sagaId]);

    behaviour.action.clear();
    behaviour.confirmation.set(ORDER_STEPS.purchase, "fail");
    const { saga: decided } = await client.startSaga({ order, waitMs: 30_000 });
    await runner.idle();
    expect((await client.getSaga({ sagaId: decided!.sagaId })).saga?.status).toBe(SagaStatus.NEEDS_ATTENTION);
    behaviour.confirmation.clear();
    const retried = (await client.retrySaga({ sagaId: decided!.sagaId, ...who })).saga!;
    expect(retried.status).toBe(SagaStatus.CONFIRMING);
    await runner.idle();
    const done = (await client.getSaga({ sagaId: decided!.sagaId })).saga!;
    expect(done.status).toBe(SagaStatus.COMPLETED);
    expect(done.steps.some((s) => s.phase === StepPhase.COMPENSATION)).toBe(false);
  });
});
