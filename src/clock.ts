/** Injected time, so that rules and tests never read the real clock directly. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Milliseconds since an arbitrary start, never stepping back: for measuring time spans, not dates. */
export const monotonicClock: Clock = { now: () => performance.now() };
