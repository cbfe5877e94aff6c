/**
 * Live saga events for subscribers (waits, WatchSagas, logging): the runner publishes each
 * event once it is durable, so nobody hears of a transition a crash could take back.
 */
import type { SagaEvent } from "./saga-record.js";

/** A subscriber's callback. It must not throw; if it does, the error is logged and dropped. */
export type SagaEventListener = (event: SagaEvent) => void;

/** Subscriptions to one saga or to all, and delivery to them. */
export interface SagaEventHub {
  /** Tells every listener of all sagas, then those of `event.sagaId`. */
  publish(event: SagaEvent): void;
  /** Listens to one saga (or to all when `sagaId` is undefined); returns the unsubscribe function. */
  subscribe(sagaId: string | undefined, listener: SagaEventListener): () => void;
}

/**
 * A hub whose listeners cannot break the runner: a listener that throws is reported through
 * `onListenerError` and the others still hear the event.
 */
export function createSagaEventHub(onListenerError: (error: unknown, event: SagaEvent) => void): SagaEventHub {
  const listenersBySaga = new Map<string, Set<SagaEventListener>>();
  const listenersOfAll = new Set<SagaEventListener>();

  function deliver(listener: SagaEventListener, event: SagaEvent): void {
    try {
      listener(event);
    } catch (error) {
      onListenerError(error, event);
    }
  }

  return {
    publish(event) {
      for (const listener of listenersOfAll) deliver(listener, event);
      const listeners = listenersBySaga.get(event.sagaId);
      if (listeners) for (const listener of listeners) deliver(listener, event);
    },
    subscribe(sagaId, listener) {
      if (sagaId === undefined) {
        listenersOfAll.add(listener);
        return () => void listenersOfAll.delete(listener);
      }
      let listeners = listenersBySaga.get(sagaId);
      if (!listeners) listenersBySaga.set(sagaId, (listeners = new Set()));
      listeners.add(listener);
      const mine = listeners;
      return () => {
        mine.delete(listener);
        if (mine.size === 0 && listenersBySaga.get(sagaId) === mine) listenersBySaga.delete(sagaId);
      };
    },
  };
}
