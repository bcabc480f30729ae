/**
 * One full garbage collection when the agent goes quiet after a burst of connections. A burst of
 * short-lived callers (a node's pods starting, scripts, CLI fetches) grows V8's young generation
 * and leaves garbage in the old one. V8 keeps both until it next needs to collect, and an idle
 * agent allocates next to nothing, so that can be hours. After 1,000 fetches the agent held
 * ~80 MB, and one collection brought it back to ~74 MB (docs/performance.md). Node offers no call
 * for this, so the collector comes from V8's `--expose-gc`, set at run time and read from a fresh
 * context: the agent's own global scope gains nothing (docs/decisions.md has what that costs).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Clock } from '../clock.js';
import { NODE_TIMERS, type Timers } from './timers.js';

/** Quiet time after the last connection closed before the collection. */
export const IDLE_COLLECT_MS = 10_000;

/** Tells the collector that a connection opened or closed; {@link IdleCollector.close} stops it. */
export interface IdleCollector {
  touch(): void;
  close(): void;
}

/**
 * Calls `collect` once `idleMs` have passed since the last {@link IdleCollector.touch}, once per
 * quiet spell: a steady trickle of connections never triggers it, and an agent whose connections
 * neither open nor close never does. One timer at most, set by the first touch after a
 * collection. `clock` must be monotonic (a wall clock stepped back would postpone it).
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
    if (quiet < idleMs) timer = timers.setTimeout(due, Math.min(idleMs, Math.max(1, idleMs - quiet)));
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

let exposed: (() => void) | null | undefined;

/**
 * V8's full collection (`gc()`), or `undefined` when this runtime refuses to expose it. Made
 * once per process: the context it comes from stays alive with it (~150 KB).
 */
export function fullCollection(): (() => void) | undefined {
  if (exposed === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      const gc: unknown = runInNewContext('typeof gc === "function" ? gc : undefined');
      exposed = typeof gc === 'function' ? () => void gc() : null;
    } catch {
      exposed = null;
    }
  }
  return exposed ?? undefined;
}
