/**
 * Takes turns between callers for the work every new call costs before it is served (issue 15):
 * attestation reads `/proc`, `/etc/passwd` or a token file and may call the API server. Without
 * turns, a caller that opens a thousand calls at once queues a thousand attestations ahead of
 * everyone else's (measured: a good client waited 2.7 s behind 1,024 streams of one attacker).
 * Each caller group (a uid, or a pod: `connection-admission.ts`) runs at most `perGroup` such
 * jobs at a time; the rest of that group wait in order, and other groups are not held up.
 */
import { callerGone } from '../abort.js';

export interface CallerGate {
  /**
   * Runs `work` once `group` has fewer than `perGroup` jobs running; rejects with `CANCELLED`
   * (and never runs it) when `signal` aborts while it waits.
   */
  run<T>(group: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /**
   * Runs `work` only if `group` has a place free now, without waiting for one.
   * @returns its promise, or `undefined` when it was not run
   */
  tryRun<T>(group: string, work: () => Promise<T>): Promise<T> | undefined;
  /** Jobs running and waiting of `group` (tests, metrics). */
  load(group: string): { readonly running: number; readonly waiting: number };
}

interface Lane {
  running: number;
  readonly waiting: Array<() => void>;
}

/** @throws TypeError when `perGroup` is not a positive integer */
export function createCallerGate(options: { readonly perGroup: number }): CallerGate {
  const { perGroup } = options;
  if (!Number.isSafeInteger(perGroup) || perGroup < 1) throw new TypeError(`perGroup must be a positive integer: ${perGroup}`);
  const lanes = new Map<string, Lane>();

  function done(group: string, lane: Lane): void {
    const next = lane.waiting.shift();
    if (next) {
      next();
      return;
    }
    lane.running--;
    if (lane.running === 0) lanes.delete(group);
  }

  return {
    run(group, work, signal) {
      if (signal?.aborted) return Promise.reject(callerGone());
      let lane = lanes.get(group);
      if (!lane) {
        lane = { running: 0, waiting: [] };
        lanes.set(group, lane);
      }
      const own = lane;
      const start = async () => {
        try {
          return await work();
        } finally {
          done(group, own);
        }
      };
      if (own.running < perGroup) {
        own.running++;
        return start();
      }
      // A place is handed over by `done` (running stays the same), so the order is kept.
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          const i = own.waiting.indexOf(turn);
          if (i >= 0) own.waiting.splice(i, 1);
          reject(callerGone());
        };
        const turn = () => {
          signal?.removeEventListener('abort', onAbort);
          start().then(resolve, reject);
        };
        own.waiting.push(turn);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    tryRun(group, work) {
      const lane = lanes.get(group);
      return lane === undefined || lane.running < perGroup ? this.run(group, work) : undefined;
    },
    load(group) {
      const lane = lanes.get(group);
      return { running: lane?.running ?? 0, waiting: lane?.waiting.length ?? 0 };
    },
  };
}
