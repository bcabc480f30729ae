/**
 * When to renew a credential: 70 % of the remaining lifetime, clamped to [min, max]
 * (linkerd2-proxy `refresh_in`), less a few per cent at random so that the SVIDs of a fleet
 * issued together do not all come back together. Pure: the caller passes the time and the
 * randomness.
 */

/** Fraction of the remaining lifetime after which a credential is renewed. */
export const REFRESH_FRACTION = 0.7;

export interface RefreshPolicy {
  /** Lower bound, ms (default 10 s in the CLI). */
  readonly minRefreshMs: number;
  /** Upper bound, ms (default 24 h in the CLI). */
  readonly maxRefreshMs: number;
}

/**
 * Milliseconds from `now` until the credential expiring at `notAfter` should be renewed.
 * An expired credential is renewed after `minRefreshMs` (never in a busy loop).
 */
export function refreshIn(now: number, notAfter: number, policy: RefreshPolicy): number {
  const remaining = notAfter - now;
  if (!(remaining > 0)) return policy.minRefreshMs;
  const wait = Math.floor(remaining * REFRESH_FRACTION);
  return Math.min(Math.max(wait, policy.minRefreshMs), policy.maxRefreshMs);
}

/** Largest fraction of a renewal wait taken off at random: renewals spread over the last 5 % of it. */
export const RENEWAL_JITTER = 0.05;

/**
 * {@link refreshIn} less up to {@link RENEWAL_JITTER} of it: `random` in [0, 1) picks how much
 * (0 renews on the dot). Never negative; may fall below `minRefreshMs` by the jitter only.
 */
export function renewalDelay(now: number, notAfter: number, policy: RefreshPolicy, random: () => number): number {
  const wait = refreshIn(now, notAfter, policy);
  return Math.max(0, Math.floor(wait * (1 - RENEWAL_JITTER * clampUnit(random()))));
}

/** `x` forced into [0, 1]: a bad random source must not make a negative or huge wait. */
export function clampUnit(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}
