/** Timers the agent's schedulers take as a parameter, so tests drive rotation and renewal by hand. */

/** Timer functions, injectable so tests control rotation. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Node's timers, unref'd: a pending rotation or renewal never keeps the process alive. */
export const NODE_TIMERS: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
