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

/**
 * One per open stream, so its state lives in fields and its code on the prototype: no closures
 * per stream (docs/performance.md, "Open streams").
 */
class Latest implements LatestWriter {
  private pending: Buffer | undefined;
  private waiting = false;
  private last: Buffer | undefined;
  private readonly call: WritableCall;

  constructor(call: WritableCall) {
    this.call = call;
  }

  write(message: Buffer): void {
    if (this.waiting) this.pending = message;
    else this.send(message);
  }

  blocked(): boolean {
    return this.waiting;
  }

  private send(message: Buffer): void {
    if (message === this.last) return; // identical shared response: nothing new for this stream
    this.last = message;
    if (!this.call.write(message)) {
      this.waiting = true;
      this.call.once('drain', () => this.drained());
    }
  }

  private drained(): void {
    this.waiting = false;
    const next = this.pending;
    this.pending = undefined;
    if (next) this.send(next);
  }
}

export function createLatestWriter(call: WritableCall): LatestWriter {
  return new Latest(call);
}
