/**
 * One full garbage collection when the agent goes quiet after a burst of connections. A burst of
 * short-lived callers (a node's pods starting, scripts, CLI fetches) grows V8's young generation
 * and leaves garbage in the old one. V8 keeps both until it next needs to collect, and an idle
 * agent allocates next to nothing, so that can be hours. After 1,000 fetches the agent held
 * ~80 MB, and one collection brought it back to ~74 MB (docs/performance.md). Node offers no call
 * for this, so the collector comes from V8's `--expose-gc`, set at run time and read from a fresh
 * context: the agent's own global scope gains nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock } from '../clock.js';
import { NODE_TIMERS, type Timers } from './timers.js';

/** Quiet time after the last connection closed before the collection. */
export const IDLE_COLLECT_MS = 10_000;

/** Tells the collector that a connection closed; {@link IdleCollector.close} stops it. */
export interface IdleCollector {
  touch(): void;
  close(): void;
}

/**
 * Calls `collect` once `idleMs` have passed since the last {@link IdleCollector.touch}, once per
 * quiet spell: a steady trickle of connections never triggers it, and an agent with no
 * connection closing never does. One timer at most, set by the first touch after a collection.
 */
export function startIdleCollector(options: { collect: () => void; clock: Clock; idleMs?: number; timers?: Timers }): IdleCollector {
  const { collect, clock } = options;
  const idleMs = options.idleMs ?? IDLE_COLLECT_MS;
  const timers = options.timers ?? NODE_TIMERS;
  let last = 0;
  let timer: unknown;
  let closed = false;
  const due = () => {
    timer = undefined;
    const quiet = clock.now() - last;
    if (quiet < idleMs) timer = timers.setTimeout(due, idleMs - quiet);
    else collect();
  };
  return {
    touch() {
      if (closed) return;
      last = clock.now();
      timer ??= timers.setTimeout(due, idleMs);
    },
    close() {
      closed = true;
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** V8's full collection (`gc()`), or `undefined` when this runtime refuses to expose it. */
export function fullCollection(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
    return typeof gc === 'function' ? () => void gc() : undefined;
  } catch {
    return undefined;
  }
}
