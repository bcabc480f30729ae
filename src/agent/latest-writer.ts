/**
 * Backpressure for Workload API streams (issue 5): only the latest state matters, so a stream
 * whose client stops reading holds at most one pending message — the newest — instead of a
 * queue of stale ones. grpc-js `write()` returns false past its high-water mark; we then wait
 * for 'drain' and send whatever is newest at that moment.
 */

/** The part of a grpc-js server stream this needs. */
export interface WritableCall {
  write(message: unknown): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface LatestWriter {
  /** Sends `message` now, or replaces the pending message if the stream is full. */
  write(message: Buffer): void;
  /** True while a message waits for the stream to drain. */
  blocked(): boolean;
}

export function createLatestWriter(call: WritableCall): LatestWriter {
  let pending: Buffer | undefined;
  let waiting = false;
  let last: Buffer | undefined;

  function send(message: Buffer): void {
    if (message === last) return; // identical shared response: nothing new for this stream
    last = message;
    if (!call.write(message)) {
      waiting = true;
      call.once('drain', () => {
        waiting = false;
        const next = pending;
        pending = undefined;
        if (next) send(next);
      });
    }
  }

  return {
    write(message) {
      if (waiting) pending = message;
      else send(message);
    },
    blocked: () => waiting,
  };
}
