/**
 * One saga being driven by this runner: its definition, its record as far as the log goes,
 * and the transitions held back to ride along with its next durable write.
 */
import type { Json } from "./json.js";
import type { SagaDefinition } from "./saga.js";
import type { ErrorInfo, OperatorNote, SagaEvent, SagaEventKind, SagaRecord, SagaStatus } from "./saga-record.js";
import type { CallOutcome } from "./runner-state.js";

/** An operator's request to force a driven saga to compensate, answered once the turn is durable (or refused). */
export interface CompensationRequest {
  readonly note: OperatorNote;
  resolve(record: SagaRecord): void;
  reject(error: unknown): void;
}

/** The in-memory state of a saga while a drive (or an operator action) works on it. */
export interface Execution {
  readonly definition: SagaDefinition<unknown>;
  /** The record folded from every durable event; updated as each write lands. */
  readonly record: SagaRecord;
  /** Sequence number of the last durable event applied to `record`. */
  loggedSequence: number;
  /** Sequence number of the last event made (carried, being written, or logged). */
  assignedSequence: number;
  /** Transitions held back to be logged with the next one, in the same group commit. */
  carried: SagaEvent[];
  /** The write of this saga in flight, if any: writes go one at a time, in sequence order. */
  writing: Promise<void> | undefined;
  /** Set when a write failed: the log may now lack events, so nothing more is written. */
  writeFailure: { error: unknown } | undefined;
  /**
   * Resumed from the log after a crash or restart. Its log may end before steps that were
   * sent (starts and successes are carried), so if it turns to compensation, it arms those
   * steps first (see `turnToCompensation` in action-driver.ts).
   */
  readonly resumed: boolean;
  /** Set once the saga is about to log its decision (or completion): too late to force compensation. */
  deciding: boolean;
  /** A forced compensation the action driver has yet to log. */
  compensationRequest: CompensationRequest | undefined;
  /** Ends the call in flight, if any (for a forced compensation; the call's outcome stays unknown). */
  finishCall: ((outcome: CallOutcome) => void) | undefined;
  /** Aborts the signal of the call in flight, if the step asked for one. */
  abortCall: ((reason: Error) => void) | undefined;
  /** Ends the backoff under way, if any (for a forced compensation). */
  wakeFromPause: (() => void) | undefined;
  /** With ownership among replicas: the epoch every append of this saga carries; undefined on a single-owner store. */
  epoch: number | undefined;
  /** The owner's renewal generation when the saga became this runner's (see `OwnerState.generation`). */
  ownedSince: number;
  /** Set once another replica took the saga over: nothing more is called or written for it here. */
  fenced: boolean;
}

/** What one transition says: kind, the saga status after it, and its step, attempt, error, output and operator note where it has them. */
export type Transition = [
  kind: SagaEventKind,
  status: SagaStatus,
  step?: string,
  attempt?: number,
  error?: ErrorInfo,
  output?: Json,
  operator?: OperatorNote,
];

/** An execution over a record folded from `loggedEvents` durable events. */
export function newExecution(
  definition: SagaDefinition<unknown>,
  record: SagaRecord,
  loggedEvents: number,
  resumed: boolean,
  owned?: { epoch: number; since: number },
): Execution {
  return {
    definition,
    record,
    loggedSequence: loggedEvents,
    assignedSequence: loggedEvents,
    carried: [],
    writing: undefined,
    writeFailure: undefined,
    resumed,
    deciding: false,
    compensationRequest: undefined,
    finishCall: undefined,
    abortCall: undefined,
    wakeFromPause: undefined,
    epoch: owned?.epoch,
    ownedSince: owned?.since ?? 0,
    fenced: false,
  };
}
