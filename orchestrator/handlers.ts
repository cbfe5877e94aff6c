import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceHandlers } from "#platform/grpc-server.js";
import { timestampDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import {
  OrchestratorService,
  SagaSchema,
  SagaStatus,
  StepPhase,
  StepStatus,
  type Saga,
  type SagaEvent,
} from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
import type { Runner } from "./engine/runner.js";
import type { SagaEvent as EngineEvent, OperatorNote, SagaRecord, SagaStatus as EngineStatus } from "./engine/saga-record.js";
import {
  IdempotencyConflictError,
  InvalidOperatorNoteError,
  InvalidPageTokenError,
  SagaLimitError,
  SagaStateError,
  SagaTakenOverError,
  UnknownDefinitionError,
} from "./engine/errors.js";
import { checkOperatorNote } from "./engine/operator-actions.js";
import { checkId, checkPageSize, invalidArgument, MAX_KEY_LENGTH } from "#platform/field-rules.js";
import { normaliseOrder, orderFingerprint, type OrderInput } from "./order-saga/order-input.js";
import { ORDER_SAGA, ORDER_STEPS, type PricedOrder } from "./order-saga/order-saga.js";

/** Longest a StartSaga call may wait for its outcome. */
export const MAX_WAIT_MS = 60_000;

/**
 * The orchestrator's gRPC API over the saga runner: proto ⇄ engine records, input checks, and
 * engine errors turned into status codes in one place.
 */
export function orchestratorHandlers(runner: Runner): ServiceHandlers<typeof OrchestratorService> {
  return {
    async startSaga(req) {
      return guard(async () => {
        if (req.idempotencyKey !== "") checkId(req.idempotencyKey, "idempotency_key", MAX_KEY_LENGTH);
        if (!req.order) throw invalidArgument("order", "is required");
        const input = normaliseOrder(req.order);
        const { saga, created } = await runner.start(ORDER_SAGA, {
          idempotencyKey: req.idempotencyKey || undefined,
          input: input as unknown as Parameters<Runner["start"]>[1]["input"],
          fingerprint: orderFingerprint(input),
        });
        // Answered once the outcome is decided: a CONFIRMING saga will complete.
        const waited = req.waitMs > 0 ? await runner.wait(saga.sagaId, Math.min(req.waitMs, MAX_WAIT_MS), "decided") : saga;
        return { saga: toSaga(waited ?? saga, false), created };
      });
    },
    async getSaga(req) {
      return guard(async () => {
        checkId(req.sagaId, "saga_id", MAX_KEY_LENGTH);
        return { saga: toSaga(await found(runner, req.sagaId)) };
      });
    },
    async listSagas(req) {
      return guard(async () => {
        const pageSize = checkPageSize(req.pageSize);
        const page = await runner.list({
          statuses: req.statuses.map(fromStatus),
          createdAfter: req.createdAfter ? timestampDate(req.createdAfter).getTime() : undefined,
          createdBefore: req.createdBefore ? timestampDate(req.createdBefore).getTime() : undefined,
          pageSize,
          pageToken: req.pageToken || undefined,
        });
        return { sagas: page.sagas.map((s) => toSaga(s)), nextPageToken: page.nextPageToken };
      });
    },
    async *watchSagas(req, ctx) {
      if (req.sagaId !== "") await guard(() => found(runner, req.sagaId));
      const queue: EngineEvent[] = [];
      let wake: (() => void) | undefined;
      // Every saga of the log, including those other replicas drive.
      const unsubscribe = runner.subscribe(
        req.sagaId || undefined,
        (e) => {
          queue.push(e);
          wake?.();
        },
        { everywhere: true },
      );
      const aborted = new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
      try {
        while (!ctx.signal.aborted) {
          const e = queue.shift();
          if (e) {
            yield { event: toEvent(e) };
            continue;
          }
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
          wake = undefined;
        }
      } finally {
        unsubscribe();
      }
    },
    async retrySaga(req) {
      return guard(async () => {
        const note = operatorRequest(req);
        await found(runner, req.sagaId);
        return { saga: toSaga(await runner.retry(req.sagaId, note)) };
      });
    },
    async forceCompensateSaga(req) {
      return guard(async () => {
        const note = operatorRequest(req);
        await found(runner, req.sagaId);
        return { saga: toSaga(await runner.forceCompensate(req.sagaId, note)) };
      });
    },
    async resolveSaga(req) {
      return guard(async () => {
        const note = operatorRequest(req);
        await found(runner, req.sagaId);
        return { saga: toSaga(await runner.resolve(req.sagaId, note)) };
      });
    },
  };
}

/** The fields every operator RPC checks before anything else: saga_id, actor and reason. */
function operatorRequest(req: { sagaId: string; actor: string; reason: string }): OperatorNote {
  checkId(req.sagaId, "saga_id", MAX_KEY_LENGTH);
  return checkOperatorNote(req);
}

async function found(runner: Runner, sagaId: string): Promise<SagaRecord> {
  const saga = await runner.get(sagaId);
  if (!saga) throw new ConnectError(`saga ${sagaId} not found`, Code.NotFound);
  return saga;
}

/** Engine and input errors as status codes: the one place where they are mapped. */
async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    if (err instanceof InvalidOperatorNoteError) throw new ConnectError(err.message, Code.InvalidArgument);
    if (err instanceof InvalidPageTokenError) throw new ConnectError(`page_token: ${err.message}`, Code.InvalidArgument);
    if (err instanceof IdempotencyConflictError) throw new ConnectError(err.message, Code.AlreadyExists);
    if (err instanceof SagaLimitError) throw new ConnectError(err.message, Code.ResourceExhausted);
    if (err instanceof SagaTakenOverError) throw new ConnectError(err.message, Code.Aborted);
    if (err instanceof SagaStateError) throw new ConnectError(err.message, Code.FailedPrecondition);
    // A saga whose definition version this orchestrator does not have: an operator cannot act on it here.
    if (err instanceof UnknownDefinitionError) throw new ConnectError(err.message, Code.FailedPrecondition);
    throw err;
  }
}

const STATUS: Record<EngineStatus, SagaStatus> = {
  RUNNING: SagaStatus.RUNNING,
  CONFIRMING: SagaStatus.CONFIRMING,
  COMPLETED: SagaStatus.COMPLETED,
  COMPENSATING: SagaStatus.COMPENSATING,
  COMPENSATED: SagaStatus.COMPENSATED,
  NEEDS_ATTENTION: SagaStatus.NEEDS_ATTENTION,
  RESOLVED: SagaStatus.RESOLVED,
};

function fromStatus(status: SagaStatus, i: number): EngineStatus {
  const found = (Object.keys(STATUS) as EngineStatus[]).find((k) => STATUS[k] === status);
  if (!found) throw invalidArgument(`statuses[${i}]`, "must be a saga status other than UNSPECIFIED");
  return found;
}

const STEP_PHASE = {
  action: StepPhase.ACTION,
  compensation: StepPhase.COMPENSATION,
  confirmation: StepPhase.CONFIRMATION,
} as const satisfies Record<SagaRecord["steps"][number]["phase"], StepPhase>;

const STEP_STATUS = { RUNNING: StepStatus.RUNNING, SUCCEEDED: StepStatus.SUCCEEDED, FAILED: StepStatus.FAILED } as const;

/** An engine record as the API's Saga message, with its step history unless `withSteps` is false. */
export function toSaga(r: SagaRecord, withSteps = true): Saga {
  const order = r.input as unknown as OrderInput;
  const priced = r.results[ORDER_STEPS.price] as unknown as PricedOrder | undefined;
  return create(SagaSchema, {
    sagaId: r.sagaId,
    // The engine keys a saga started without a client key by its own id; that is no client key.
    idempotencyKey: r.idempotencyKey === r.sagaId ? "" : r.idempotencyKey,
    definitionName: r.definitionName,
    definitionVersion: r.definitionVersion,
    status: STATUS[r.status],
    order: { customerId: order.customerId, items: order.items.map((i) => ({ productId: i.productId, quantity: i.quantity })) },
    totalCents: BigInt(priced?.totalCents ?? 0),
    failedStep: r.failedStep ?? "",
    errorCode: r.error?.code ?? "",
    error: r.error?.message ?? "",
    steps: (withSteps ? r.steps : []).map((s) => ({
      name: s.name,
      phase: STEP_PHASE[s.phase],
      status: STEP_STATUS[s.status],
      attempts: s.attempts,
      startedAt: timestampFromMs(s.startedAt),
      finishedAt: s.finishedAt === undefined ? undefined : timestampFromMs(s.finishedAt),
      lastErrorCode: s.lastError?.code ?? "",
      lastError: s.lastError?.message ?? "",
    })),
    createdAt: timestampFromMs(r.createdAt),
    updatedAt: timestampFromMs(r.updatedAt),
    operatorActions: r.operatorActions.map((a) => ({
      kind: a.kind,
      actor: a.actor,
      reason: a.reason,
      at: timestampFromMs(a.at),
      status: STATUS[a.status],
    })),
  });
}

function toEvent(e: EngineEvent): SagaEvent {
  return {
    $typeName: "saga.orchestrator.v1.SagaEvent",
    sagaId: e.sagaId,
    sequence: BigInt(e.sequence),
    kind: e.kind,
    step: e.step ?? "",
    status: STATUS[e.status],
    at: timestampFromMs(e.at),
    error: e.error?.message ?? "",
    actor: e.operator?.actor ?? "",
    reason: e.operator?.reason ?? "",
  };
}
