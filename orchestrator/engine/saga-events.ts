/**
 * Live saga events for subscribers (waits, WatchSagas, logging): the runner publishes each
 * event once it is durable, so nobody hears of a transition a crash could take back. Events
 * of sagas other replicas drive (read back from the log when its change feed tells of them)
 * reach only the listeners that asked for them, so a replica reads nothing back for nobody.
 */
import type { SagaEvent } from "./saga-record.js";

/** A subscriber's callback. It must not throw; if it does, the error is logged and dropped. */
export type SagaEventListener = (event: SagaEvent) => void;

/** Subscriptions to one saga or to all, and delivery to them. */
export interface SagaEventHub {
  /**
   * Tells every listener of all sagas, then those of `event.sagaId`; an event of another
   * replica (`elsewhere`) only those that asked for such events.
   */
  publish(event: SagaEvent, elsewhere?: boolean): void;
  /**
   * Listens to one saga (or to all when `sagaId` is undefined), with `everywhere` to the events
   * of sagas other replicas drive too; returns the unsubscribe function.
   */
  subscribe(sagaId: string | undefined, listener: SagaEventListener, everywhere?: boolean): () => void;
  /** Whether anyone listens to the events other replicas write for `sagaId`. */
  hearsElsewhere(sagaId: string): boolean;
}

interface Subscription {
  readonly listener: SagaEventListener;
  readonly everywhere: boolean;
}

/**
 * A hub whose listeners cannot break the runner: a listener that throws is reported through
 * `onListenerError` and the others still hear the event.
 */
export function createSagaEventHub(onListenerError: (error: unknown, event: SagaEvent) => void): SagaEventHub {
  const bySaga = new Map<string, Set<Subscription>>();
  const ofAll = new Set<Subscription>();
  /** How many subscriptions hear other replicas' events: of all sagas, and per saga. */
  let everywhereOfAll = 0;
  const everywhereBySaga = new Map<string, number>();

  function deliver(subscriptions: Iterable<Subscription>, event: SagaEvent, elsewhere: boolean): void {
    for (const { listener, everywhere } of subscriptions) {
      if (elsewhere && !everywhere) continue;
      try {
        listener(event);
      } catch (error) {
        onListenerError(error, event);
      }
    }
  }

  return {
    publish(event, elsewhere = false) {
      deliver(ofAll, event, elsewhere);
      const subscriptions = bySaga.get(event.sagaId);
      if (subscriptions) deliver(subscriptions, event, elsewhere);
    },
    subscribe(sagaId, listener, everywhere = false) {
      const subscription: Subscription = { listener, everywhere };
      if (sagaId === undefined) {
        ofAll.add(subscription);
        if (everywhere) everywhereOfAll++;
        return () => {
          if (ofAll.delete(subscription) && everywhere) everywhereOfAll--;
        };
      }
      let subscriptions = bySaga.get(sagaId);
      if (!subscriptions) bySaga.set(sagaId, (subscriptions = new Set()));
      subscriptions.add(subscription);
      if (everywhere) everywhereBySaga.set(sagaId, (everywhereBySaga.get(sagaId) ?? 0) + 1);
      const mine = subscriptions;
      return () => {
        if (!mine.delete(subscription)) return;
        if (everywhere) {
          const left = (everywhereBySaga.get(sagaId) ?? 1) - 1;
          if (left > 0) everywhereBySaga.set(sagaId, left);
          else everywhereBySaga.delete(sagaId);
        }
        if (mine.size === 0 && bySaga.get(sagaId) === mine) bySaga.delete(sagaId);
      };
    },
    hearsElsewhere(sagaId) {
      return everywhereOfAll > 0 || everywhereBySaga.has(sagaId);
    },
  };
}
