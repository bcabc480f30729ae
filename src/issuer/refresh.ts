/**
 * When to renew a credential: 70 % of the remaining lifetime, clamped to [min, max]
 * (linkerd2-proxy `refresh_in`, SPEC §5). Pure: the caller passes the time.
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
