/**
 * A single-value channel: producers publish into a {@link Sink}, consumers read a
 * {@link Receiver} and are told when the value changes (like tokio's `watch`).
 * Only the latest value matters; listeners are called synchronously, in order.
 */

/** The producer side: one method. */
export interface Sink<T> {
  set(value: T): void;
}

/** The consumer side. */
export interface Receiver<T> {
  /** The current value. */
  get(): T;
  /** Calls `listener` after every change; returns the function that stops it. */
  subscribe(listener: (value: T) => void): () => void;
}

/** Both ends of one channel. */
export interface ValueChannel<T> {
  sink: Sink<T>;
  receiver: Receiver<T>;
}

/** Creates a channel holding `initial`. A listener that throws does not stop the others. */
export function createValueChannel<T>(initial: T, onListenerError?: (err: unknown) => void): ValueChannel<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    sink: {
      set(next) {
        value = next;
        for (const listener of [...listeners]) {
          try {
            listener(next);
          } catch (err) {
            onListenerError?.(err);
          }
        }
      },
    },
    receiver: {
      get: () => value,
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  };
}
