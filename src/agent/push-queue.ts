/**
 * Spreads a fan-out over turns of the event loop. A rotation (or a trust-anchor change) has to
 * reach every open stream of an identity; writing to 10,000 streams in one synchronous run holds
 * the event loop for its whole duration (measured: 200–470 ms on a busy 2-core machine), so no
 * new caller is accepted meanwhile and nothing written is flushed to a socket until the last
 * write. Instead, streams that need the newest state are queued and pushed `batch` at a time, one
 * batch per turn: between batches the loop accepts, and what was written goes out while the next
 * batch is written (docs/performance.md, "Rotation to 10,000 streams").
 *
 * Only the newest state matters, so a stream queued twice before its turn is pushed once, and
 * pushing sends whatever is newest at that moment.
 */

/** Something that sends its newest state when asked. */
export interface Pushable {
  push(): void;
}

export interface PushQueue<T extends Pushable> {
  /** Queues `item` for a push in a later turn (once, however often it is added before then). */
  add(item: T): void;
  /** Takes `item` out of the queue (a closed stream): it is not pushed. */
  delete(item: T): void;
  /** How many items wait. */
  size(): number;
}

export interface PushQueueOptions {
  /** Items pushed per turn. */
  readonly batch: number;
  /** Runs `turn` on a later turn of the event loop (`setImmediate` in the agent). */
  readonly defer: (turn: () => void) => void;
}

/**
 * Streams pushed per turn. Measured with 10,000 streams on a quiet 2-core machine: 2,048 per turn
 * reached them all in 406–434 ms (bare grpc-js 463–471), 256 per turn in 651 ms (bare 329): fewer,
 * longer turns (~60 ms of writes each) still let callers in between, at a fifth of the turns'
 * overhead (docs/performance.md).
 */
export const PUSH_BATCH = 2048;

export function createPushQueue<T extends Pushable>(options: PushQueueOptions): PushQueue<T> {
  const { batch, defer } = options;
  if (!Number.isInteger(batch) || batch < 1) throw new TypeError(`push batch must be a positive integer, got ${batch}`);
  // A Set: insertion order, one entry per item, O(1) delete when a stream closes.
  const waiting = new Set<T>();
  let scheduled = false;

  function turn(): void {
    scheduled = false;
    let pushed = 0;
    try {
      for (const item of waiting) {
        if (pushed === batch) break;
        waiting.delete(item);
        pushed++;
        item.push();
      }
    } finally {
      schedule();
    }
  }

  function schedule(): void {
    if (scheduled || waiting.size === 0) return;
    scheduled = true;
    defer(turn);
  }

  return {
    add(item) {
      waiting.add(item);
      schedule();
    },
    delete(item) {
      waiting.delete(item);
    },
    size: () => waiting.size,
  };
}
