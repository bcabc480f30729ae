/**
 * Open Workload API streams, so that shutdown can end them all (grpc-js
 * `tryShutdown` never completes while a stream is open) and metrics can count them.
 */

/** The part of a grpc-js server stream this needs. */
export interface TrackedCall {
  end(): void;
  on(event: 'cancelled' | 'close', listener: () => void): unknown;
  readonly cancelled: boolean;
}

export interface StreamRegistry {
  /** Tracks `call` until it closes; `cleanup` runs exactly once when it does. */
  track(call: TrackedCall, cleanup: () => void): void;
  /** Ends every open stream with status OK (clients reconnect). */
  endAll(): void;
  size(): number;
}

export function createStreamRegistry(onChange?: (open: number) => void): StreamRegistry {
  const open = new Map<TrackedCall, () => void>();
  return {
    track(call, cleanup) {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        open.delete(call);
        onChange?.(open.size);
        cleanup();
      };
      if (call.cancelled) return finish();
      open.set(call, finish);
      onChange?.(open.size);
      // `close` follows every end (grpc-js destroys the stream after `cancelled`; `finish` and
      // `error` end it too); `cancelled` comes a tick earlier. `finish` is idempotent, so plain
      // listeners do: no once-wrapper per event per stream.
      call.on('cancelled', finish);
      call.on('close', finish);
    },
    endAll() {
      for (const [call, finish] of [...open]) {
        finish();
        call.end();
      }
    },
    size: () => open.size,
  };
}
