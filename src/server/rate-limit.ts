/**
 * The per-node rate limit of the node service: a token bucket per node name, so one node (or one
 * compromised agent) cannot take the issuer or the API server from the others. A full bucket is
 * the same as none, so buckets that have refilled are dropped when the map grows.
 */
import type { Clock } from '../clock.js';

/** Requests a node may send at once after a quiet spell. */
export const NODE_BURST = 100;
/** Requests per second a node may send on average. */
export const NODE_RATE_PER_SECOND = 20;
/** Buckets kept before full ones are swept. */
const SWEEP_AT = 10_000;

/** Options of {@link createNodeRateLimit}. */
export interface NodeRateLimitOptions {
  readonly clock: Clock;
  /** Default {@link NODE_BURST}. */
  readonly burst?: number;
  /** Default {@link NODE_RATE_PER_SECOND}. */
  readonly perSecond?: number;
}

/** Takes one request from a node's bucket. */
export interface NodeRateLimit {
  /** @returns true when the node may go on, false when it is over its rate */
  take(node: string): boolean;
}

/**
 * Creates the limiter.
 * @throws TypeError for a burst below 1 or a rate that is not positive
 */
export function createNodeRateLimit(options: NodeRateLimitOptions): NodeRateLimit {
  const burst = options.burst ?? NODE_BURST;
  const perMs = (options.perSecond ?? NODE_RATE_PER_SECOND) / 1000;
  if (!(burst >= 1) || !(perMs > 0)) throw new TypeError('rate limit needs a burst of at least 1 and a positive rate');
  const buckets = new Map<string, { tokens: number; at: number }>();

  const level = (bucket: { tokens: number; at: number }, now: number): number =>
    Math.min(burst, bucket.tokens + Math.max(0, now - bucket.at) * perMs);

  return {
    take(node) {
      const now = options.clock.now();
      if (buckets.size >= SWEEP_AT) {
        for (const [key, bucket] of buckets) if (level(bucket, now) >= burst) buckets.delete(key);
      }
      const bucket = buckets.get(node) ?? { tokens: burst, at: now };
      const tokens = level(bucket, now);
      if (tokens < 1) return false;
      buckets.set(node, { tokens: tokens - 1, at: now });
      return true;
    },
  };
}
