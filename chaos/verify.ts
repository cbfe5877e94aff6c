/**
 * What a chaos run checks beyond system/invariants.ts, from the client's side: no
 * acknowledged saga is lost or changes its outcome, failing orders never complete, and a
 * repeated POST names the same saga.
 */
import { ORDER_STEPS } from "../orchestrator/order-saga/order-saga.js";
import { TERMINAL, type ClientRecord } from "./client.js";
import { FAILING_STEP } from "./orders.js";

/** A saga as the orchestrator lists it, reduced to what the checks read. */
export interface SagaView {
  readonly sagaId: string;
  readonly idempotencyKey: string;
  readonly status: string;
  readonly failedStep: string;
  readonly errorCode?: string;
}

export interface ClientCheck {
  /** Acknowledged sagas missing at the orchestrator, under another id, not terminal, or with another outcome. */
  readonly lost: string[];
  /** Broken promises that are not losses: a failing order that completed or failed too late, a repeat that named another saga, an unexpected answer. */
  readonly violations: string[];
  /** Sagas the client never got an answer for (the system was unavailable for longer than the client's bounds). */
  readonly unacknowledged: number;
  /** Each of them: how often it was posted, and what became of it at the orchestrator. */
  readonly unacknowledgedSagas: readonly UnacknowledgedSaga[];
}

/**
 * A saga the client sent (or meant to send) and never got an answer naming it. The client was
 * promised nothing, so it is not lost; but a run that leaves sagas unanswered did not show the
 * system answering under faults, so a run counts them against its allowance.
 */
export interface UnacknowledgedSaga {
  readonly key: string;
  /** POSTs sent: 0 means the run's bounds passed before it was sent at all. */
  readonly posts: number;
  /** Why the client stopped. */
  readonly problem: string;
  /** The saga the orchestrator holds under this key, if a POST reached it (its answer was lost). */
  readonly saga?: { readonly sagaId: string; readonly status: string };
}

/** Unacknowledged sagas by fate: never sent, sent and unknown to the orchestrator, or known with a status. */
export function unacknowledgedByFate(list: readonly UnacknowledgedSaga[]): Record<string, number> {
  const fates: Record<string, number> = {};
  for (const u of list) {
    const fate = u.posts === 0 ? "never sent" : u.saga ? `sent, saga ${u.saga.status}` : "sent, no saga";
    fates[fate] = (fates[fate] ?? 0) + 1;
  }
  return fates;
}

/** The order saga's steps in the order they run (ORDER_STEPS lists them so). */
const STEP_ORDER: readonly string[] = Object.values(ORDER_STEPS);

/** Outcome class of an HTTP acknowledgement: 200 → COMPLETED, 409 → COMPENSATED, 202 → whatever the client then saw. */
function expectedClass(r: ClientRecord): string | undefined {
  if (r.ack?.httpStatus === 200) return "COMPLETED";
  if (r.ack?.httpStatus === 409) return "COMPENSATED";
  return r.seen && TERMINAL.has(r.seen.status) ? r.seen.status : undefined;
}

export function checkClientRecords(records: readonly ClientRecord[], sagas: readonly SagaView[]): ClientCheck {
  const byKey = new Map<string, SagaView[]>();
  for (const s of sagas) if (s.idempotencyKey) byKey.set(s.idempotencyKey, [...(byKey.get(s.idempotencyKey) ?? []), s]);
  const lost: string[] = [];
  const violations: string[] = [];
  const unacknowledgedSagas: UnacknowledgedSaga[] = [];
  for (const [key, list] of byKey) if (list.length > 1) violations.push(`key ${key}: ${list.length} sagas (${list.map((s) => s.sagaId).join(", ")})`);

  for (const r of records) {
    const saga = byKey.get(r.key)?.[0];
    if (r.problem && !r.problem.startsWith("no acknowledgement") && !r.problem.startsWith("still ")) violations.push(`key ${r.key}: ${r.problem}`);
    if (!r.ack) {
      unacknowledgedSagas.push({
        key: r.key,
        posts: r.posts,
        problem: r.problem ?? "no acknowledgement",
        ...(saga ? { saga: { sagaId: saga.sagaId, status: saga.status } } : {}),
      });
    } else if (!saga) {
      lost.push(`key ${r.key}: acknowledged ${r.ack.httpStatus} as saga ${r.ack.sagaId}, unknown to the orchestrator`);
      continue;
    } else if (saga.sagaId !== r.ack.sagaId) {
      lost.push(`key ${r.key}: acknowledged as saga ${r.ack.sagaId}, the orchestrator knows it as ${saga.sagaId}`);
      continue;
    } else if (!TERMINAL.has(saga.status)) {
      lost.push(`key ${r.key}: saga ${saga.sagaId} is ${saga.status}, not terminal`);
    } else {
      const expected = expectedClass(r);
      if (expected !== undefined && expected !== saga.status) {
        lost.push(`key ${r.key}: client saw ${expected} (HTTP ${r.ack.httpStatus}), saga ${saga.sagaId} is ${saga.status}`);
      }
    }
    if (!saga) continue;
    const planned = FAILING_STEP[r.order.intent];
    if (planned !== undefined) {
      if (saga.status === "COMPLETED") violations.push(`key ${r.key}: a ${r.order.intent}-failing order COMPLETED (saga ${saga.sagaId})`);
      else if (saga.status === "COMPENSATED" && STEP_ORDER.indexOf(saga.failedStep) > STEP_ORDER.indexOf(planned)) {
        violations.push(`key ${r.key}: planned to fail at ${planned}, failed later at ${saga.failedStep} (saga ${saga.sagaId})`);
      }
    }
    if (r.twin?.sagaId !== undefined && r.ack && r.twin.sagaId !== r.ack.sagaId) {
      violations.push(`key ${r.key}: two POSTs at once named two sagas, ${r.ack.sagaId} and ${r.twin.sagaId}`);
    }
    if (r.repeat && (!r.repeat.sameSaga || !r.repeat.sameStatus)) {
      violations.push(
        `key ${r.key}: the repeated POST answered ${r.repeat.httpStatus} with ${r.repeat.sameSaga ? "another status" : "another saga"}`,
      );
    }
  }
  return { lost, violations, unacknowledged: unacknowledgedSagas.length, unacknowledgedSagas };
}
