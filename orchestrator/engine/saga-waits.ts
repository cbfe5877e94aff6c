/**
 * Waiting for a saga to reach a status: resolves on the durable event that gets it there,
 * or at the timeout with the saga as it stands.
 */
import type { SagaStatus } from "./saga-record.js";
import { MAX_TIMER_MS } from "./retry.js";
import type { RunnerState } from "./runner-state.js";
import { copyRecord, isDecided, isTerminal, type SagaRecord } from "./saga-record.js";
import { getSaga } from "./saga-queries.js";

/**
 * What a wait waits for: "terminal" (the runner is done with the saga), or "decided" (its
 * outcome is known: CONFIRMING or terminal; a caller may be answered then).
 */
export type WaitUntil = "terminal" | "decided";

/**
 * Resolves with the record once the saga reaches `until`, or at the timeout with its current
 * record; undefined if unknown. A saga another replica drives is heard of through the change
 * feed, when the runner has one; without it, at the timeout.
 */
export function waitForSaga(state: RunnerState, sagaId: string, timeoutMs: number, until: WaitUntil = "terminal"): Promise<SagaRecord | undefined> {
  const reached: (status: SagaStatus) => boolean = until === "decided" ? isDecided : isTerminal;
  const running = state.executions.get(sagaId);
  if (running && reached(running.record.status)) return Promise.resolve(copyRecord(running.record));
  return new Promise<SagaRecord | undefined>((resolve, reject) => {
    let done = false;
    // eslint-disable-next-line prefer-const -- set below, after the closures that clear it exist
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      getSaga(state, sagaId).then(resolve, reject);
    };
    const unsubscribe = state.events.subscribe(
      sagaId,
      (event) => {
        if (!reached(event.status)) return;
        const execution = state.executions.get(sagaId);
        if (!execution || done) return finish();
        // The event is durable and already applied to the record: no need to read it back.
        done = true;
        clearTimeout(timer);
        unsubscribe();
        resolve(copyRecord(execution.record));
      },
      true,
    );
    timer = setTimeout(finish, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
    if (state.executions.has(sagaId)) return; // running here and not there yet: its event will come
    getSaga(state, sagaId).then((record) => {
      if (done || (record && !reached(record.status))) return;
      done = true;
      clearTimeout(timer);
      unsubscribe();
      resolve(record);
    }, reject);
  });
}
