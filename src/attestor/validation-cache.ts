/**
 * The cache in front of every token validator (TokenReview, and the central issuer's
 * ReviewWorkload): a successful validation is reused for at most 60 s and never past the token's
 * own `exp`; failures are never cached, so a token that starts working (or a reviewer that comes
 * back) is seen at once. Entries are keyed by a SHA-256 of the token, never the token itself.
 *
 * Callers asking about the same token (and pod) while its review is in flight share it. A caller
 * that goes away stops waiting at once, but the review goes on and fills the cache.
 */
import { hash } from 'node:crypto';
import { stopWaitingOnAbort } from '../abort.js';
import { createBoundedCache } from '../bounded-cache.js';
import { type Clock, systemClock } from '../clock.js';
import { AgentError } from '../errors.js';
import type { TokenValidator, ValidatedToken } from '../token-validator.js';

/** Upper bound on how long a successful review is reused, in milliseconds. */
export const MAX_REVIEW_CACHE_TTL_MS = 60_000;
const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

/** A {@link TokenValidator} holding a cache; `close()` empties it (it runs no timer). */
export interface CachingTokenValidator extends TokenValidator {
  close(): void;
}

/** Options of {@link createCachingValidator}. */
export interface CachingValidatorOptions {
  /** Reviews a token that is not cached; `podUid` is the caller's pod, when the attestor knows it. */
  review(token: string, podUid: string | undefined): Promise<ValidatedToken>;
  /** Default the wall clock. Decides cache expiry. */
  readonly clock?: Clock;
  /** Longest reuse of a successful review, ms; default and maximum 60000; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** Most cached reviews kept; default 10000 (beyond it the least recently used is dropped). */
  readonly cacheMaxEntries?: number;
}

/**
 * How long a successful review of `token` may be reused: min(`maxMs`, `exp` − now), read from the
 * unverified JWT payload (the reviewer already verified it; `exp` only shortens the cache).
 * @returns 0 (do not cache) when the token has no readable numeric `exp` or it has passed
 */
export function reviewCacheTtlMs(token: string, nowMs: number, maxMs: number): number {
  const exp = unverifiedExp(token);
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 0;
  return Math.max(0, Math.min(maxMs, exp * 1000 - nowMs));
}

/**
 * The `exp` claim of a compact JWS's payload, unverified; `undefined` when the token is not three
 * dot-separated parts or its payload is not a JSON object. What jose's `decodeJwt` reads, without
 * its strict base64url and UTF-8 decoding: only a token the reviewer accepted is cached, and `exp`
 * can only shorten the cache's 60 s.
 */
function unverifiedExp(token: string): unknown {
  const payloadAt = token.indexOf('.') + 1;
  const signatureAt = token.indexOf('.', payloadAt) + 1;
  if (payloadAt === 0 || signatureAt === 0 || token.includes('.', signatureAt)) return undefined;
  try {
    const payload: unknown = JSON.parse(Buffer.from(token.slice(payloadAt, signatureAt - 1), 'base64url').toString('utf8'));
    return typeof payload === 'object' && payload !== null ? (payload as { exp?: unknown }).exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Puts the cache in front of `options.review`.
 * @throws TypeError for a negative `cacheTtlMs`
 */
export function createCachingValidator(options: CachingValidatorOptions): CachingTokenValidator {
  const clock = options.clock ?? systemClock;
  const cacheTtlMs = Math.min(options.cacheTtlMs ?? MAX_REVIEW_CACHE_TTL_MS, MAX_REVIEW_CACHE_TTL_MS);
  if (!(cacheTtlMs >= 0)) throw new TypeError(`cacheTtlMs must not be negative: ${options.cacheTtlMs}`);
  // The one bounded cache (src/bounded-cache.ts): expiry on `clock`, LRU when full, no timer.
  const cache = createBoundedCache<ValidatedToken>({ maxEntries: options.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES, clock });

  /** Reviews in flight, by token hash and pod: callers asking the same question share one. */
  const inFlight = new Map<string, Promise<ValidatedToken>>();

  async function reviewAndRemember(key: string, token: string, podUid: string | undefined): Promise<ValidatedToken> {
    const validated = Object.freeze(await options.review(token, podUid));
    if (cacheTtlMs > 0) cache.set(key, validated, reviewCacheTtlMs(token, clock.now(), cacheTtlMs));
    return validated;
  }

  return {
    async validate(token, validateOptions) {
      if (token === '') throw new AgentError('TOKEN_INVALID', 'token is empty');
      const key = hash('sha256', token, 'base64');
      const cached = cacheTtlMs > 0 ? cache.get(key) : undefined;
      if (cached) return cached;
      const podUid = validateOptions?.podUid;
      const flightKey = `${key}/${podUid ?? ''}`;
      let pending = inFlight.get(flightKey);
      if (!pending) {
        pending = reviewAndRemember(key, token, podUid).finally(() => inFlight.delete(flightKey));
        inFlight.set(flightKey, pending);
      }
      return stopWaitingOnAbort(pending, validateOptions?.signal);
    },
    close() {
      cache.close();
    },
  };
}
