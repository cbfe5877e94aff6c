/**
 * Ownership among replicas sharing one saga log (PostgreSQL): each saga is driven by the one
 * replica that holds its lease, and every write carries the saga's epoch.
 *
 * - A saga started here is owned here from its creation (saga-start.ts).
 * - Every `renewEveryMs` one statement extends the leases of every saga owned here. A saga
 *   missing from its answer was taken by another replica: it is dropped at once
 *   (saga-fencing.ts). A saga in the answer that is not driven here (its start's answer was
 *   lost, or it was driven by an earlier life of this replica id) is taken (its epoch moves
 *   on), read and driven.
 * - Every `claimEveryMs` one statement takes the unfinished sagas whose lease ran out (a dead
 *   or stalled replica's, or nobody's), as many as `maxInFlight` leaves room for, each
 *   with its epoch moved on, and they are driven from their logs as after a crash.
 * - Closing ends this replica's leases, so the others take its unfinished sagas at once.
 *
 * Leases run on the database's clock; a replica's own clock only paces its timers.
 */
import { type Execution, newExecution } from "./execution.js";
import type { OwnerState, RunnerState } from "./runner-state.js";
import { foldSaga, UNFINISHED_STATUSES } from "./saga-record.js";
import type { SagaClaim } from "./saga-ownership.js";
import { fence } from "./saga-fencing.js";
import { inFlight, launch } from "./saga-lifecycle.js";

/**
 * At boot: drives the sagas this replica id still owns, claims what nobody holds, then starts
 * the renewal and claim loops (unless the caller drives them); returns how many sagas were claimed.
 */
export async function startLeases(state: RunnerState): Promise<number> {
  const owner = state.owner!;
  // Its own first (a restart with the same id), then what nobody holds.
  await renewLeases(state);
  const claimed = await claimSagas(state);
  if (owner.timers && !state.closed) {
    loop(state, owner, owner.renewEveryMs, () => renewLeases(state), "renewal");
    loop(state, owner, owner.claimEveryMs, () => claimSagas(state), "claim");
  }
  if (claimed > 0) state.log.info({ claimed, replica: owner.replicaId }, "claimed unfinished sagas from the log");
  return claimed;
}

/** Runs `work` every `everyMs` (never two at once) until the runner closes; failures are logged when they start and when they stop. */
function loop(state: RunnerState, owner: OwnerState, everyMs: number, work: () => Promise<unknown>, what: string): void {
  const next = (): void => {
    if (state.closed) return;
    const timer = setTimeout(() => {
      owner.loops.delete(timer);
      work()
        .then(
          () => {
            if (owner.failing) state.log.info({ replica: owner.replicaId }, `lease ${what} works again`);
            owner.failing = false;
          },
          (error: unknown) => {
            if (!owner.failing && !state.closed) state.log.warn({ err: error, replica: owner.replicaId }, `lease ${what} failed; retrying`);
            owner.failing = true;
          },
        )
        .finally(next);
    }, everyMs);
    timer.unref();
    owner.loops.add(timer);
  };
  next();
}

/** Extends this replica's leases; drops the sagas it no longer owns and drives those it owns but does not drive. */
export async function renewLeases(state: RunnerState): Promise<void> {
  const owner = state.owner;
  if (!owner || state.closed) return;
  const sentAt = ++owner.generation;
  const renewed = await owner.port.renew(owner.replicaId, owner.leaseMs);
  if (state.closed) return;
  const epochs = new Map(renewed.map((c) => [c.sagaId, c.epoch]));
  for (const execution of [...state.executions.values()]) {
    if (execution.epoch === undefined || execution.ownedSince >= sentAt) continue; // became ours after the renewal was sent
    const epoch = epochs.get(execution.record.sagaId);
    if (epoch !== undefined) {
      execution.epoch = Math.max(execution.epoch, epoch); // this replica claimed it again meanwhile
      continue;
    }
    // Missing because it left the unfinished statuses (NEEDS_ATTENTION, or a final write on its way) is no loss.
    if (execution.writing !== undefined || !UNFINISHED_STATUSES.includes(execution.record.status)) continue;
    fence(state, execution, `the lease renewal no longer finds saga ${execution.record.sagaId} owned by this replica`);
  }
  const orphans = renewed.filter((c) => !state.executions.has(c.sagaId) && !owner.adopting.has(c.sagaId) && !owner.unresumable.has(c.sagaId));
  await Promise.all(orphans.map((claim) => adopt(state, owner, claim.sagaId)));
}

/**
 * Drives a saga this replica id owns but this runner does not drive: the answer of its start
 * was lost, or an earlier process with this id held it. It is taken first (its epoch moves
 * on), so that earlier process, should it still be alive (frozen, and its id given again to
 * its replacement), can write nothing more to it.
 */
async function adopt(state: RunnerState, owner: OwnerState, sagaId: string): Promise<boolean> {
  owner.adopting.add(sagaId);
  let claim: SagaClaim | undefined;
  try {
    claim = await owner.port.take(sagaId, owner.replicaId, owner.leaseMs);
  } finally {
    owner.adopting.delete(sagaId);
  }
  return claim !== undefined && !state.closed && drivePending(state, owner, claim);
}

/** Takes sagas whose lease ran out, as many as there is room for, and drives them; returns how many it took. */
export async function claimSagas(state: RunnerState): Promise<number> {
  const owner = state.owner;
  if (!owner || state.closed) return 0;
  const room = state.maxInFlight - inFlight(state) - owner.adopting.size;
  if (room <= 0) return 0;
  const claims = await owner.port.claim(owner.replicaId, owner.leaseMs, Math.min(room, owner.claimBatch));
  if (claims.length === 0) return 0;
  const driven = await Promise.all(claims.map((claim) => drivePending(state, owner, claim)));
  return driven.filter(Boolean).length;
}

/** Reads a saga this replica owns (just claimed, or found by a renewal) and drives it; false if there is nothing to drive. */
async function drivePending(state: RunnerState, owner: OwnerState, claim: SagaClaim): Promise<boolean> {
  const held = state.executions.get(claim.sagaId);
  if (held) {
    // Driven here already (claimed again by this replica after its lease ran out, or started
    // here while it was being adopted): this runner writes on with the newer epoch.
    if (held.epoch !== undefined) held.epoch = Math.max(held.epoch, claim.epoch);
    return false;
  }
  owner.adopting.add(claim.sagaId);
  let stored;
  try {
    stored = await state.store.load(claim.sagaId);
  } finally {
    owner.adopting.delete(claim.sagaId);
  }
  if (!stored || state.closed || state.executions.has(claim.sagaId)) return false;
  const { header } = stored;
  const definition = state.definitions.exact(header.definitionName, header.definitionVersion);
  if (!definition) {
    owner.unresumable.add(claim.sagaId);
    state.log.error(
      { sagaId: claim.sagaId, definition: header.definitionName, version: header.definitionVersion },
      "cannot drive saga: its definition version is not registered here; left untouched",
    );
    return false;
  }
  const record = foldSaga(header, stored.events);
  if (!UNFINISHED_STATUSES.includes(record.status)) return false;
  const execution: Execution = newExecution(definition, record, stored.events.length, true, { epoch: claim.epoch, since: owner.generation });
  launch(state, execution);
  return true;
}

/** On close: ends this replica's leases so that the others take its unfinished sagas at once (logged, never thrown). */
export async function releaseLeases(state: RunnerState): Promise<void> {
  const owner = state.owner;
  if (!owner) return;
  for (const timer of owner.loops) clearTimeout(timer);
  owner.loops.clear();
  try {
    await owner.port.release(owner.replicaId);
  } catch (error) {
    state.log.warn(
      { err: error, replica: owner.replicaId },
      "could not end this replica's leases on close: the others take its sagas when they run out",
    );
  }
}
