/**
 * Ownership of sagas among orchestrator replicas sharing one saga log: the port a replica will
 * use to take unfinished sagas (its own after a restart, or a dead replica's), keep them, and
 * write to them only while they are still its own. Separate from `SagaStore`, which a single
 * orchestrator (SQLite) uses as it is; a runner given one (`RunnerOptions.ownership`) drives
 * only the sagas it owns (see saga-leases.ts).
 *
 * A claim hands a saga to an owner for a lease and moves the saga's epoch on. Appends carry
 * the epoch their writer was given; once another replica has claimed the saga, the epoch has
 * moved and such an append is refused with {@link FencedError}, so a replica that was paused
 * past its lease (a long GC, a frozen VM) cannot write over its successor's decisions. Leases
 * are measured on the database's clock, never a replica's.
 */
import type { SagaEvent, SagaHeader } from "./saga-record.js";
import type { CreateResult } from "./saga-store.js";

/** A saga handed to an owner, and the epoch its appends must carry. */
export interface SagaClaim {
  readonly sagaId: string;
  readonly epoch: number;
}

/** The epoch of a saga created owned ({@link SagaOwnership.createOwned}): its creator writes with it. */
export const CREATED_EPOCH = 1;

/** Claiming, renewing and fenced writing of sagas by owners (replicas). */
export interface SagaOwnership {
  /**
   * Creates a saga as `SagaStore.create` does, owned by `ownerId` from its creation for
   * `leaseMs`, at epoch {@link CREATED_EPOCH}. When the key is taken, nothing is written and
   * the saga holding it is returned, whoever owns it.
   */
  createOwned(header: SagaHeader, first: SagaEvent, ownerId: string, leaseMs: number): Promise<CreateResult>;
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
  /**
   * Takes one saga for `ownerId` whoever owns it and whatever its status, moving its epoch on
   * (so its previous owner's writes are refused from now on): for an operator acting on a
   * saga through this replica. Undefined when the saga does not exist.
   */
  take(sagaId: string, ownerId: string, leaseMs: number): Promise<SagaClaim | undefined>;
  /** Ends the leases `ownerId` holds now (a replica closing), so others claim them at once. */
  release(ownerId: string): Promise<void>;
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
