/**
 * The idempotency rules every mutating RPC follows, written once:
 *
 * - a repeat with the same payload gets the first outcome and changes nothing;
 * - the same key with a different payload is refused ({@link KeyReusedError});
 * - a compensation that arrived first leaves a tombstone, and the late action is refused
 *   ({@link CancelledBeforeArrivalError}).
 *
 * Domain code only; `domain-error-to-connect.ts` maps these errors to status codes. The
 * pending-state rules built on them (confirm, compensate) are in `pending-state.ts`.
 */
import { ConflictError, RefusedError } from "./domain-errors.js";

/** The key was already used with a different payload (ALREADY_EXISTS). */
export class KeyReusedError extends ConflictError {
  override name = "KeyReusedError";
  constructor(what: string, key: string) {
    super(`${what} ${JSON.stringify(key)} was already made with a different request`);
  }
}

/** The compensation for this key came first, so the action is refused (FAILED_PRECONDITION). */
export class CancelledBeforeArrivalError extends RefusedError {
  override name = "CancelledBeforeArrivalError";
  constructor(what: string, key: string) {
    super(`${what} ${JSON.stringify(key)} was cancelled before it arrived`);
  }
}

/** How to read a stored record when the same key comes again. */
export interface RepeatRules<R> {
  /** Names the record in messages, for example "payment". */
  readonly what: string;
  readonly key: string;
  /** The record is a tombstone left by a compensation that came first. */
  readonly isTombstone: (record: R) => boolean;
  /** The record was made from the same payload as this request. */
  readonly samePayload: (record: R) => boolean;
}

/**
 * Decides what an action gets when its key already has a record: the record itself (a
 * repeat), or an error. Returns `undefined` when there is no record, i.e. the action is new.
 * Call it inside the write, before changing anything.
 * @throws CancelledBeforeArrivalError for a tombstone; KeyReusedError for another payload.
 */
export function replayOf<R>(existing: R | undefined, rules: RepeatRules<R>): R | undefined {
  if (existing === undefined) return undefined;
  if (rules.isTombstone(existing)) throw new CancelledBeforeArrivalError(rules.what, rules.key);
  if (!rules.samePayload(existing)) throw new KeyReusedError(rules.what, rules.key);
  return existing;
}
