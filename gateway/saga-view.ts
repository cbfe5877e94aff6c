import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { SagaStatus, StepPhase, StepStatus, type Saga } from "#gen/saga/orchestrator/v1/orchestrator_pb.js";
// The step names are the saga definition's, imported rather than typed out again; this is the
// gateway's one import from the orchestrator's code, a table of constants.
import { ORDER_STEPS } from "../orchestrator/order-saga/order-saga.js";

/** The seed's answer when every step succeeded. */
export const SUCCESS_MESSAGE = "Saga completada con éxito";

/** The seed's answer for each failing step, keyed by the order saga's persisted step names. */
export const FAILURE_MESSAGES: Readonly<Record<string, string>> = {
  [ORDER_STEPS.price]: "Fallo en el catálogo",
  [ORDER_STEPS.charge]: "Fallo en el pago",
  [ORDER_STEPS.purchase]: "Fallo en la compra, pago compensado",
  [ORDER_STEPS.stock]: "Fallo en inventario, compra y pago compensados",
};

const iso = (t: Timestamp | undefined): string | undefined => (t ? new Date(timestampMs(t)).toISOString() : undefined);
const statusName = (s: SagaStatus): string => SagaStatus[s] ?? "UNSPECIFIED";

/** A saga as REST JSON: plain status names, ISO times, amounts as numbers. */
export function sagaJson(s: Saga) {
  return {
    sagaId: s.sagaId,
    status: statusName(s.status),
    idempotencyKey: s.idempotencyKey || undefined,
    definition: { name: s.definitionName, version: s.definitionVersion },
    order: { customerId: s.order?.customerId ?? "", items: (s.order?.items ?? []).map((i) => ({ productId: i.productId, quantity: i.quantity })) },
    totalCents: Number(s.totalCents),
    failedStep: s.failedStep || undefined,
    error: s.error ? { code: s.errorCode, message: s.error } : undefined,
    steps: s.steps.map((st) => ({
      name: st.name,
      phase: st.phase === StepPhase.COMPENSATION ? "compensation" : st.phase === StepPhase.CONFIRMATION ? "confirmation" : "action",
      status: StepStatus[st.status] ?? "UNSPECIFIED",
      attempts: st.attempts,
      startedAt: iso(st.startedAt),
      finishedAt: iso(st.finishedAt),
      lastError: st.lastError ? { code: st.lastErrorCode, message: st.lastError } : undefined,
    })),
    operatorActions: s.operatorActions.map((a) => ({ kind: a.kind, actor: a.actor, reason: a.reason, at: iso(a.at), status: statusName(a.status) })),
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

/**
 * The answer of `POST /saga` for a saga, as the seed gave it: 200 with "mensaje" when it
 * completed (or is confirming, which is decided), 409 with the failing step's "error" when it was compensated, 409 when an
 * operator resolved it by hand (its outcome is the operator's, not the saga's), and 202 (with a Location to poll) while it is
 * still running or waits for an operator.
 */
export function sagaOutcome(s: Saga): { status: number; body: Record<string, unknown> } {
  const summary = { sagaId: s.sagaId, status: statusName(s.status), totalCents: Number(s.totalCents) };
  // CONFIRMING is decided: the saga will complete, so it is answered as COMPLETED is.
  if (s.status === SagaStatus.COMPLETED || s.status === SagaStatus.CONFIRMING) return { status: 200, body: { mensaje: SUCCESS_MESSAGE, ...summary } };
  if (s.status === SagaStatus.COMPENSATED) {
    const error = FAILURE_MESSAGES[s.failedStep] ?? "Fallo en la saga, pasos compensados";
    return { status: 409, body: { error, ...summary, failedStep: s.failedStep, motivo: s.error, code: s.errorCode } };
  }
  if (s.status === SagaStatus.RESOLVED) return { status: 409, body: { error: "Saga resuelta a mano por un operador", ...summary } };
  return { status: 202, body: { mensaje: "Saga en curso", ...summary, location: `/saga/${encodeURIComponent(s.sagaId)}` } };
}
