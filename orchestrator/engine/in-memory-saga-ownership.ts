/**
 * Ownership of sagas in process memory, over an `InMemorySagaStore`, on an injected clock: the
 * simulation's replicas share one log and their leases run on its virtual time. It does what
 * the PostgreSQL store does (claims of expired leases oldest first, renewals, fenced appends,
 * takes), each operation atomic since nothing else runs between its check and its write.
 *
 * It also keeps the ledger the simulation checks: the epoch of every append that landed, so
 * an append of an owner that was fenced landing after its successor's is a reported breach.
 */
import { CREATED_EPOCH, FencedError, type SagaClaim, type SagaOwnership } from "./saga-ownership.js";
import { type SagaEvent, type SagaHeader, UNFINISHED_STATUSES } from "./saga-record.js";
import type { CreateResult, InMemorySagaStore } from "./saga-store.js";

interface Lease {
  owner: string | undefined;
  until: number;
  epoch: number;
  /** Highest epoch of an append that landed. */
  landedEpoch: number;
}

/** `SagaOwnership` for an in-memory log, with leases on `now()`. */
export class InMemorySagaOwnership implements SagaOwnership {
  readonly #leases = new Map<string, Lease>();
  /** Unfinished sagas, in creation order (what claims scan, so a long run never scans finished ones). */
  readonly #open = new Map<string, Lease>();
  /** Sagas waiting for an operator (NEEDS_ATTENTION). */
  readonly needsAttention = new Set<string>();
  /** Breaches of fencing seen by the ledger (an append with an epoch older than one that already landed). */
  readonly breaches: string[] = [];
  /** Appends refused because their epoch had moved on. */
  fencedAppends = 0;
  /** Claims that took a saga from another owner whose lease ran out. */
  takeovers = 0;

  constructor(
    readonly store: InMemorySagaStore,
    private readonly now: () => number,
  ) {}

  /** The replica that owns the saga now (lease run out or not), if any. */
  ownerOf(sagaId: string): string | undefined {
    return this.#leases.get(sagaId)?.owner;
  }

  /** Unfinished sagas in the log. */
  get unfinishedCount(): number {
    return this.#open.size;
  }

  async createOwned(header: SagaHeader, first: SagaEvent, ownerId: string, leaseMs: number): Promise<CreateResult> {
    const result = await this.store.create(header, first);
    if (result.created) {
      const lease: Lease = { owner: ownerId, until: this.now() + leaseMs, epoch: CREATED_EPOCH, landedEpoch: CREATED_EPOCH };
      this.#leases.set(header.sagaId, lease);
      this.#track(header.sagaId, lease, first.status);
    }
    return result;
  }

  claim(ownerId: string, leaseMs: number, limit: number): Promise<SagaClaim[]> {
    const now = this.now();
    const claims: SagaClaim[] = [];
    for (const [sagaId, lease] of this.#open) {
      if (claims.length >= limit) break;
      if (lease.owner !== undefined && lease.until > now) continue;
      if (lease.owner !== undefined && lease.owner !== ownerId) this.takeovers++;
      lease.owner = ownerId;
      lease.until = now + leaseMs;
      lease.epoch++;
      claims.push({ sagaId, epoch: lease.epoch });
    }
    return Promise.resolve(claims);
  }

  renew(ownerId: string, leaseMs: number): Promise<SagaClaim[]> {
    const until = this.now() + leaseMs;
    const renewed: SagaClaim[] = [];
    for (const [sagaId, lease] of this.#open) {
      if (lease.owner !== ownerId) continue;
      lease.until = until;
      renewed.push({ sagaId, epoch: lease.epoch });
    }
    return Promise.resolve(renewed);
  }

  appendFenced(event: SagaEvent, epoch: number): Promise<void> {
    const lease = this.#leases.get(event.sagaId);
    if (lease === undefined) return Promise.reject(new Error(`unknown saga ${event.sagaId}`));
    if (lease.epoch !== epoch) {
      this.fencedAppends++;
      return Promise.reject(new FencedError(event.sagaId, epoch, lease.epoch));
    }
    return this.store.append(event).then(() => {
      if (epoch < lease.landedEpoch) {
        this.breaches.push(`saga ${event.sagaId}: an append of epoch ${epoch} landed after one of epoch ${lease.landedEpoch}`);
      }
      lease.landedEpoch = Math.max(lease.landedEpoch, epoch);
      this.#track(event.sagaId, lease, event.status);
    });
  }

  take(sagaId: string, ownerId: string, leaseMs: number): Promise<SagaClaim | undefined> {
    const lease = this.#leases.get(sagaId);
    if (lease === undefined) return Promise.resolve(undefined);
    lease.owner = ownerId;
    lease.until = this.now() + leaseMs;
    lease.epoch++;
    return Promise.resolve({ sagaId, epoch: lease.epoch });
  }

  release(ownerId: string): Promise<void> {
    const now = this.now();
    for (const lease of this.#open.values()) if (lease.owner === ownerId && lease.until > now) lease.until = now;
    return Promise.resolve();
  }

  #track(sagaId: string, lease: Lease, status: SagaEvent["status"]): void {
    if (UNFINISHED_STATUSES.includes(status)) this.#open.set(sagaId, lease);
    else this.#open.delete(sagaId);
    if (status === "NEEDS_ATTENTION") this.needsAttention.add(sagaId);
    else this.needsAttention.delete(sagaId);
  }
}
