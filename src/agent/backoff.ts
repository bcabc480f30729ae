/**
 * Retries of calls to the central issuer: exponential backoff with jitter, so that nodes that
 * failed together do not retry together (AWS "Exponential Backoff And Jitter", the "equal jitter"
 * variant; grpc's connection-backoff.md uses ±20 %). Pure: the caller passes the randomness.
 */
import { clampUnit } from '../issuer/index.js';

/** How a retried operation backs off. */
export interface BackoffPolicy {
  /** Wait before the first retry, ms, before jitter. */
  readonly initialMs: number;
  /** Longest wait, ms, before jitter. */
  readonly maxMs: number;
}

/** Retries of issuance and of the bundle stream: 1 s, 2 s, 4 s, … up to 30 s, each halved at random. */
export const ISSUER_RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000 };

/**
 * The wait before retry number `attempt` (0 for the first): `min(max, initial · 2^attempt)`, of
 * which between half and all is taken, as `random` in [0, 1) says.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent);
  return Math.floor(ceiling / 2 + (ceiling / 2) * clampUnit(random()));
}
