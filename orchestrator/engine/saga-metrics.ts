/**
 * What the runner tells a metrics recorder, and nothing more: the engine stays free of any
 * metrics library (the orchestrator plugs in a Prometheus one). Both calls sit on the hot
 * path, so an implementation resolves its label sets once and only adds to them.
 */
import type { SagaEvent, SagaStatus } from "./saga-record.js";

/** Which part of a saga a call belongs to. */
export type CallPhase = "action" | "compensation" | "confirmation";

/** Where the runner reports what it does, for metrics. */
export interface SagaMetrics {
  /** A transition of a saga of `definition` is durable; called once per logged event, in log order. */
  logged(definition: string, event: SagaEvent): void;
  /** One call (one attempt) of a step ended: `outcome` is "OK" or the failure's code (a timeout is DEADLINE_EXCEEDED). */
  called(definition: string, phase: CallPhase, step: string, outcome: string, seconds: number): void;
}

/**
 * The phase of a call made while the saga is in `status`: the drivers log RUNNING before
 * actions, CONFIRMING before confirmations and COMPENSATING before compensations.
 */
export function callPhase(status: SagaStatus): CallPhase {
  if (status === "RUNNING") return "action";
  if (status === "CONFIRMING") return "confirmation";
  return "compensation";
}
