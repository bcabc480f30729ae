/** Timers the agent's schedulers take as a parameter, so tests drive rotation and renewal by hand. */

/** Timer functions, injectable so tests control rotation. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Node's timers, unref'd: a pending rotation or renewal never keeps the process alive. A timer is
 * ref'd again just before it is cleared: Node 20 drops the list that holds the timers of one
 * duration only when a ref'd timer leaves it (`unenroll` in lib/internal/timers.js), and the
 * delays here differ on every acquire. Without this, each fetch of a held identity left two empty
 * lists until their delay ran out, hours later: 2,000 fetches held ~1.3 MB more heap
 * (docs/performance.md). A timer cleared after it fired is left ref'd; nothing here refreshes one.
 */
export const NODE_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout(handle) {
    const timer = handle as NodeJS.Timeout | undefined;
    // Only a Timeout has ref(); anything else goes to clearTimeout as it is.
    clearTimeout(typeof timer?.ref === 'function' ? timer.ref() : timer);
  },
};
