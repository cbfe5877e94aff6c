/**
 * The saga log and what it means: the events the runner appends, and the record (status,
 * results, step history) that folding them yields. The log is the truth; a record is
 * always derived from it, so recovery and queries see exactly what was durable.
 */
import type { Json } from "./json.js";

/**
 * RUNNING → COMPLETED, or RUNNING → CONFIRMING → COMPLETED | NEEDS_ATTENTION (→ CONFIRMING on
 * retry) when steps have confirmations, or RUNNING → COMPENSATING → COMPENSATED |
 * NEEDS_ATTENTION (→ COMPENSATING on retry). CONFIRMING means decided: every action
 * succeeded, the saga will complete and never compensates. An operator may force a RUNNING
 * saga to COMPENSATING, and mark a NEEDS_ATTENTION saga RESOLVED (settled by hand: the
 * engine vouches neither that it was undone nor that it was confirmed).
 */
export type SagaStatus = "RUNNING" | "CONFIRMING" | "COMPLETED" | "COMPENSATING" | "COMPENSATED" | "NEEDS_ATTENTION" | "RESOLVED";

/** Statuses in which the runner does no more work on its own. */
export const TERMINAL_STATUSES: ReadonlySet<SagaStatus> = new Set<SagaStatus>(["COMPLETED", "COMPENSATED", "NEEDS_ATTENTION", "RESOLVED"]);

/** Statuses that `resumePending()` picks up. */
export const UNFINISHED_STATUSES: readonly SagaStatus[] = ["RUNNING", "CONFIRMING", "COMPENSATING"];

/** Whether the runner is done with a saga in this status (NEEDS_ATTENTION waits for `retry()`). */
export function isTerminal(status: SagaStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/**
 * Whether a saga's outcome is known in this status: CONFIRMING (it will complete) or
 * terminal. That is when a caller waiting for the outcome may be answered.
 */
export function isDecided(status: SagaStatus): boolean {
  return status === "CONFIRMING" || TERMINAL_STATUSES.has(status);
}

/** A failure as logged: a stable code (e.g. "FAILED_PRECONDITION") and a human message. */
export interface ErrorInfo {
  code: string;
  message: string;
}

/** Who took an operator action on a saga, and why; both non-empty, kept in the saga's log. */
export interface OperatorNote {
  actor: string;
  reason: string;
}

/** An operator action in a saga's history: the event's kind, the status it led to, who, why and when. */
export interface OperatorAction extends OperatorNote {
  kind: SagaEventKind;
  status: SagaStatus;
  at: number;
}

/** One action, compensation or confirmation of one step, as it happened. */
export interface StepRecord {
  name: string;
  phase: "action" | "compensation" | "confirmation";
  status: "RUNNING" | "SUCCEEDED" | "FAILED";
  /** Calls made whose outcome is logged (1 while the first call runs). */
  attempts: number;
  startedAt: number;
  finishedAt?: number;
  lastError?: ErrorInfo;
}

/** A saga as its log describes it. */
export interface SagaRecord {
  sagaId: string;
  idempotencyKey: string;
  fingerprint: string;
  definitionName: string;
  definitionVersion: number;
  status: SagaStatus;
  input: Json;
  /** Outputs of succeeded steps by step name. */
  results: Record<string, Json>;
  /** The step whose failure (business, out of retries, or deadline) sent the saga to compensation. */
  failedStep?: string;
  /** Why the saga compensates. */
  error?: ErrorInfo;
  /** Actions, compensations and confirmations in the order they happened. */
  steps: StepRecord[];
  /**
   * When the saga passed its pivot (every action succeeded) and its outcome was decided;
   * absent before, and for a saga without confirmations. A decided saga never compensates.
   */
  decidedAt?: number;
  /** Operator actions (retries, forced compensations, resolutions), oldest first. */
  operatorActions: OperatorAction[];
  /** The trace context its starter gave (`StartRequest.traceContext`), if any. */
  traceContext?: string;
  createdAt: number;
  updatedAt: number;
}

/** Every kind of transition the runner logs. */
export type SagaEventKind =
  | "saga-created"
  | "step-started"
  | "step-attempt-failed"
  | "step-succeeded"
  | "step-failed"
  | "saga-deadline-exceeded"
  | "saga-decided"
  | "confirmation-started"
  | "confirmation-attempt-failed"
  | "confirmation-succeeded"
  | "confirmation-failed"
  | "saga-completed"
  | "compensation-started"
  | "compensation-attempt-failed"
  | "compensation-succeeded"
  | "saga-compensated"
  | "saga-needs-attention"
  | "saga-retried"
  | "saga-compensation-forced"
  | "saga-resolved";

/**
 * One logged transition. `status` is the saga's status after it; `sequence` counts from 1
 * per saga. Subscribers receive the same objects: treat them as read-only.
 */
export interface SagaEvent {
  sagaId: string;
  sequence: number;
  kind: SagaEventKind;
  step?: string;
  status: SagaStatus;
  at: number;
  /** Which call of the step this outcome belongs to. */
  attempt?: number;
  /** The step's output, on "step-succeeded"; on "saga-created", the starter's trace context, if it gave one. */
  output?: Json;
  error?: ErrorInfo;
  /** Who took the operator action this event records, and why. */
  operator?: OperatorNote;
}

/** What a saga is, apart from its log: written once, at creation. */
export interface SagaHeader {
  sagaId: string;
  /** The client's key, or the saga id when the client gave none. Unique in the store. */
  idempotencyKey: string;
  fingerprint: string;
  definitionName: string;
  definitionVersion: number;
  input: Json;
  createdAt: number;
}

/**
 * Rebuilds a saga's record from its header and its events in sequence order.
 * Never throws on a well-formed log.
 */
export function foldSaga(header: SagaHeader, events: readonly SagaEvent[]): SagaRecord {
  const record: SagaRecord = {
    sagaId: header.sagaId,
    idempotencyKey: header.idempotencyKey,
    fingerprint: header.fingerprint,
    definitionName: header.definitionName,
    definitionVersion: header.definitionVersion,
    status: "RUNNING",
    input: header.input,
    results: {},
    steps: [],
    operatorActions: [],
    createdAt: header.createdAt,
    updatedAt: header.createdAt,
  };
  for (const event of events) applyEvent(record, event);
  return record;
}

/** Applies one event to a record in place (the runner does this after the event is durable). */
export function applyEvent(record: SagaRecord, event: SagaEvent): void {
  record.status = event.status;
  record.updatedAt = event.at;
  if (event.operator) record.operatorActions.push({ ...event.operator, kind: event.kind, status: event.status, at: event.at });
  switch (event.kind) {
    case "saga-created":
      if (typeof event.output === "string") record.traceContext = event.output;
      break;
    case "step-started":
    case "compensation-started":
    case "confirmation-started":
      record.steps.push({ name: event.step ?? "", phase: PHASE_OF[event.kind], status: "RUNNING", attempts: 1, startedAt: event.at });
      break;
    case "step-attempt-failed":
    case "compensation-attempt-failed":
    case "confirmation-attempt-failed": {
      const stepRecord = findStep(record, event.step, PHASE_OF[event.kind]);
      if (stepRecord) {
        stepRecord.attempts = event.attempt ?? stepRecord.attempts;
        if (event.error) stepRecord.lastError = event.error;
      }
      break;
    }
    case "step-succeeded":
    case "compensation-succeeded":
    case "confirmation-succeeded": {
      const stepRecord = findStep(record, event.step, PHASE_OF[event.kind]);
      if (stepRecord) finish(stepRecord, "SUCCEEDED", event);
      if (event.kind === "step-succeeded" && event.step !== undefined) record.results[event.step] = event.output ?? null;
      break;
    }
    case "confirmation-failed": {
      const stepRecord = findStep(record, event.step, "confirmation");
      if (stepRecord) finish(stepRecord, "FAILED", event);
      break;
    }
    case "saga-decided":
      record.decidedAt = event.at;
      break;
    case "step-failed": {
      const stepRecord = findStep(record, event.step, "action");
      if (stepRecord) finish(stepRecord, "FAILED", event);
      if (event.step !== undefined) record.failedStep = event.step;
      if (event.error) record.error = event.error;
      break;
    }
    case "saga-needs-attention": {
      // Past the pivot only confirmations run; before it, only compensations get here.
      const stepRecord = findStep(record, event.step, record.decidedAt === undefined ? "compensation" : "confirmation");
      if (stepRecord && stepRecord.status === "RUNNING") finish(stepRecord, "FAILED", event);
      break;
    }
    case "saga-deadline-exceeded":
      if (event.error) record.error = event.error;
      break;
    case "saga-compensation-forced": {
      // The action in flight when the operator forced compensation: its outcome is unknown.
      const stepRecord = findStep(record, event.step, "action");
      if (stepRecord && stepRecord.status === "RUNNING") finish(stepRecord, "FAILED", event);
      if (event.error) record.error = event.error;
      break;
    }
    default:
      break;
  }
}

const PHASE_OF = {
  "step-started": "action",
  "step-attempt-failed": "action",
  "step-succeeded": "action",
  "compensation-started": "compensation",
  "compensation-attempt-failed": "compensation",
  "compensation-succeeded": "compensation",
  "confirmation-started": "confirmation",
  "confirmation-attempt-failed": "confirmation",
  "confirmation-succeeded": "confirmation",
} as const satisfies Partial<Record<SagaEventKind, StepRecord["phase"]>>;

/** The latest record of `name` in `phase`, if any. */
export function findStep(record: SagaRecord, name: string | undefined, phase: StepRecord["phase"]): StepRecord | undefined {
  for (let i = record.steps.length - 1; i >= 0; i--) {
    const stepRecord = record.steps[i]!;
    if (stepRecord.name === name && stepRecord.phase === phase) return stepRecord;
  }
  return undefined;
}

/** A copy of a record that later transitions do not change (results and steps copied one level deep). */
export function copyRecord(record: SagaRecord): SagaRecord {
  return {
    ...record,
    results: { ...record.results },
    steps: record.steps.map((stepRecord) => ({ ...stepRecord })),
    operatorActions: record.operatorActions.slice(),
  };
}

function finish(stepRecord: StepRecord, status: StepRecord["status"], event: SagaEvent): void {
  stepRecord.status = status;
  stepRecord.attempts = event.attempt ?? stepRecord.attempts;
  stepRecord.finishedAt = event.at;
  if (event.error) stepRecord.lastError = event.error;
}
