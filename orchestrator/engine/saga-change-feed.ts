/**
 * News of sagas other replicas wrote, for a replica whose readers (waits, WatchSagas) must see
 * every saga of the shared log: which sagas got which events. The store tells (on PostgreSQL,
 * LISTEN/NOTIFY: one notification per committed batch); the runner reads the events back from
 * the log, only for sagas someone here listens to, and publishes them (see saga-remote-events.ts).
 */

/** Events `from`…`to` (sequence numbers) of one saga were committed by another replica. */
export interface SagaChange {
  readonly sagaId: string;
  readonly from: number;
  readonly to: number;
}

/** Where the news comes from. */
export interface SagaChangeFeed {
  /** Calls `listener` with each batch of changes another replica committed; returns how to stop. */
  onChanges(listener: (changes: readonly SagaChange[]) => void): () => void;
}
