/**
 * The pending-state rules (semantic locks) of every mutating service, written once. A saga
 * has no isolation, so an action does not make its effect final: it leaves a pending record
 * (a payment hold, a pending purchase, a stock reservation) that readers and other sagas can
 * tell apart from a final one. Before the saga's pivot a compensation undoes it; after the
 * pivot a confirmation makes it final. Under one idempotency key:
 *
 * | call          | no record                    | pending        | confirmed | compensated, refused, tombstone |
 * |---------------|------------------------------|----------------|-----------|---------------------------------|
 * | action        | acts: pending or refused     | repeat         | repeat    | repeat; tombstone: refused      |
 * | confirmation  | refused                      | → confirmed    | no-op     | refused (refused: refused too)  |
 * | compensation  | leaves a tombstone           | → compensated  | refused   | no-op                           |
 *
 * "repeat" returns the first record (the service fails a refused one the same way again); an
 * action with the same key and another payload is `KeyReusedError` (idempotency.ts). Every refusal here
 * changes nothing. Call each method inside the store's write, so that the checks and the
 * changes are one transaction.
 *
 * Domain code only: no Connect imports; errors are mapped by `domain-error-to-connect.ts`.
 */
import { RefusedError } from "./domain-errors.js";
import { replayOf } from "./idempotency.js";

/** A service's names for the five places a record can stand. */
export interface PendingStatuses<S extends string> {
  /** Made by the action, not yet final: AUTHORIZED, PENDING, RESERVED. */
  readonly pending: S;
  /** Made final by the confirmation: CAPTURED, CONFIRMED, COMMITTED. */
  readonly confirmed: S;
  /** Undone by the compensation: VOIDED, CANCELLED, RELEASED. */
  readonly compensated: S;
  /** The action was refused by a business rule and nothing moved: DECLINED, REJECTED. */
  readonly refused: S;
  /** The compensation came first; the late action is refused. */
  readonly tombstone: S;
}

/** A record kept under one idempotency key. */
export interface PendingRecord<S extends string> {
  readonly key: string;
  readonly status: S;
}

/** What the rules need from the service's store. Called inside the store's write. */
export interface PendingRecords<R extends PendingRecord<S>, S extends string> {
  find(key: string): R | undefined;
  insert(record: R): void;
  setStatus(key: string, status: S): void;
}

/** How one service names and keeps its records. */
export interface PendingStateRules<R extends PendingRecord<S>, S extends string> {
  /** Names the record in messages, for example "payment". */
  readonly what: string;
  /** The confirmation's verb in messages, for example "capture". */
  readonly confirmVerb: string;
  /** The compensation's verb in messages, for example "void". */
  readonly compensateVerb: string;
  readonly statuses: PendingStatuses<S>;
  readonly records: PendingRecords<R, S>;
  /** The tombstone a compensation leaves when it comes first. */
  tombstone(key: string): R;
}

/** A confirmation with no record to confirm, or of one that can no longer be (FAILED_PRECONDITION). Nothing changes. */
export class NotConfirmableError extends RefusedError {
  override name = "NotConfirmableError";
  constructor(verb: string, what: string, key: string, why: string) {
    super(`cannot ${verb} ${what} ${JSON.stringify(key)}: ${why}`);
  }
}

/** A compensation of a record that a confirmation already made final (FAILED_PRECONDITION). Nothing changes. */
export class NotCompensableError extends RefusedError {
  override name = "NotCompensableError";
  constructor(verb: string, what: string, key: string, status: string) {
    super(`cannot ${verb} ${what} ${JSON.stringify(key)}: it is ${status}, which is final`);
  }
}

/** The rules of the table above for one service's records. */
export class PendingState<R extends PendingRecord<S>, S extends string> {
  constructor(private readonly rules: PendingStateRules<R, S>) {}

  /**
   * The action under `key`: a repeat returns the first record; a new key runs `perform`,
   * which applies the effect and returns the pending record, or returns the refused record
   * without applying anything (or throws, recording nothing). The record is then inserted.
   * @throws CancelledBeforeArrivalError after a tombstone; `KeyReusedError` (idempotency.ts) when
   *   `samePayload` says the first record was made from another request.
   */
  act(key: string, samePayload: (record: R) => boolean, perform: () => R): R {
    const { what, statuses, records } = this.rules;
    const existing = replayOf(records.find(key), { what, key, isTombstone: (r) => r.status === statuses.tombstone, samePayload });
    if (existing) return existing;
    const created = perform();
    records.insert(created);
    return created;
  }

  /**
   * The confirmation under `key`: a pending record gets `finalize` (its effect made final) and
   * the confirmed status; a confirmed one is returned unchanged.
   * @throws NotConfirmableError with no record, or when it is compensated, refused or a tombstone.
   */
  confirm(key: string, finalize: (record: R) => void): R {
    const { what, confirmVerb, statuses, records } = this.rules;
    const existing = records.find(key);
    if (!existing) throw new NotConfirmableError(confirmVerb, what, key, "there is none");
    if (existing.status === statuses.confirmed) return existing;
    if (existing.status !== statuses.pending) throw new NotConfirmableError(confirmVerb, what, key, `it is ${existing.status}`);
    finalize(existing);
    records.setStatus(key, statuses.confirmed);
    return { ...existing, status: statuses.confirmed };
  }

  /**
   * The compensation under `key`: a pending record gets `undo` and the compensated status; with
   * no record, a tombstone is left so that the late action is refused; a compensated, refused
   * or tombstone record is returned unchanged.
   * @throws NotCompensableError when the record is confirmed.
   */
  compensate(key: string, undo: (record: R) => void): R {
    const { what, compensateVerb, statuses, records } = this.rules;
    const existing = records.find(key);
    if (!existing) {
      const tombstone = this.rules.tombstone(key);
      records.insert(tombstone);
      return tombstone;
    }
    if (existing.status === statuses.confirmed) throw new NotCompensableError(compensateVerb, what, key, existing.status);
    if (existing.status !== statuses.pending) return existing;
    undo(existing);
    records.setStatus(key, statuses.compensated);
    return { ...existing, status: statuses.compensated };
  }
}
