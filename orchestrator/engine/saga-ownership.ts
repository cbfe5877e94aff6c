/**
 * Ownership of sagas among orchestrator replicas sharing one saga log: the port a replica will
 * use to take unfinished sagas (its own after a restart, or a dead replica's), keep them, and
 * write to them only while they are still its own. Separate from `SagaStore`, which a single
 * orchestrator uses as it is; the runner does not use this yet.
 *
 * A claim hands a saga to an owner for a lease and moves the saga's epoch on. Appends carry
 * the epoch their writer was given; once another replica has claimed the saga, the epoch has
 * moved and such an append is refused with {@link FencedError}, so a replica that was paused
 * past its lease (a long GC, a frozen VM) cannot write over its successor's decisions. Leases
 * are measured on the database's clock, never a replica's.
 */
import type { SagaEvent } from "./saga-record.js";

/** A saga handed to an owner, and the epoch its appends must carry. */
export interface SagaClaim {
  readonly sagaId: string;
  readonly epoch: number;
}

/** Claiming, renewing and fenced writing of sagas by owners (replicas). */
export interface SagaOwnership {
  /**
   * Takes up to `limit` unfinished sagas that nobody owns or whose lease has run out, oldest
   * first, for `ownerId` until `leaseMs` from now; each one's epoch moves on by one. Sagas that
   * another owner is claiming at the same moment are skipped, not waited for.
   */
  claim(ownerId: string, leaseMs: number, limit: number): Promise<SagaClaim[]>;
  /**
   * Extends the lease of every saga `ownerId` still owns to `leaseMs` from now and returns them;
   * a saga missing from the answer was claimed by another owner.
   */
  renew(ownerId: string, leaseMs: number): Promise<SagaClaim[]>;
  /**
   * Appends `event` as `SagaStore.append` does, only if the saga's epoch is still `epoch`.
   * @throws FencedError when the epoch moved; nothing of the event is written.
   */
  appendFenced(event: SagaEvent, epoch: number): Promise<void>;
}

/** An append was refused because its writer no longer owns the saga (its epoch moved on). */
export class FencedError extends Error {
  override name = "FencedError";
  constructor(
    readonly sagaId: string,
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(`saga ${sagaId}: append with epoch ${epoch} refused, the saga is at epoch ${currentEpoch} (claimed by another owner)`);
  }
}
