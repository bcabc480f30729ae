/**
 * The cache in front of every token validator (TokenReview, and the central issuer's
 * ReviewWorkload): a successful validation is reused for at most 60 s and never past the token's
 * own `exp`; failures are never cached, so a token that starts working (or a reviewer that comes
 * back) is seen at once. Entries are keyed by a SHA-256 of the token, never the token itself.
 *
 * Callers asking about the same token (and pod) while its review is in flight share it. A caller
 * that goes away stops waiting at once, but the review goes on and fills the cache.
 */
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import NodeCache from 'node-cache';
import { stopWaitingOnAbort } from '../abort.js';
import { type Clock, systemClock } from '../clock.js';
import { AgentError } from '../errors.js';
import { F, type Logger } from '../log.js';
import type { TokenValidator, ValidatedToken } from '../token-validator.js';

/** Upper bound on how long a successful review is reused, in milliseconds. */
export const MAX_REVIEW_CACHE_TTL_MS = 60_000;
const DEFAULT_CACHE_MAX_ENTRIES = 10_000;

/** A {@link TokenValidator} holding a cache; `close()` stops its sweep timer. */
export interface CachingTokenValidator extends TokenValidator {
  close(): void;
}

/** Options of {@link createCachingValidator}. */
export interface CachingValidatorOptions {
  /** Reviews a token that is not cached; `podUid` is the caller's pod, when the attestor knows it. */
  review(token: string, podUid: string | undefined): Promise<ValidatedToken>;
  readonly logger: Logger;
  /** Default the wall clock. Decides cache expiry. */
  readonly clock?: Clock;
  /** Longest reuse of a successful review, ms; default and maximum 60000; 0 disables the cache. */
  readonly cacheTtlMs?: number;
  /** Most cached reviews kept; default 10000 (beyond it, new reviews are simply not cached). */
  readonly cacheMaxEntries?: number;
}

/**
 * How long a successful review of `token` may be reused: min(`maxMs`, `exp` − now), read from the
 * unverified JWT payload (the reviewer already verified it; `exp` only shortens the cache).
 * @returns 0 (do not cache) when the token has no readable numeric `exp` or it has passed
 */
export function reviewCacheTtlMs(token: string, nowMs: number, maxMs: number): number {
  let exp: unknown;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    return 0;
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return 0;
  return Math.max(0, Math.min(maxMs, exp * 1000 - nowMs));
}

interface CachedReview {
  readonly validated: ValidatedToken;
  /** Clock time (ms) after which the entry is dead, whatever node-cache's own timer says. */
  readonly expiresAt: number;
}

/**
 * Puts the cache in front of `options.review`.
 * @throws TypeError for a negative `cacheTtlMs`
 */
export function createCachingValidator(options: CachingValidatorOptions): CachingTokenValidator {
  const clock = options.clock ?? systemClock;
  const cacheTtlMs = Math.min(options.cacheTtlMs ?? MAX_REVIEW_CACHE_TTL_MS, MAX_REVIEW_CACHE_TTL_MS);
  if (!(cacheTtlMs >= 0)) throw new TypeError(`cacheTtlMs must not be negative: ${options.cacheTtlMs}`);
  // useClones: false — cached values are returned as is (see node-stack.md §5); they are frozen below.
  const cache = new NodeCache({
    stdTTL: MAX_REVIEW_CACHE_TTL_MS / 1000,
    checkperiod: MAX_REVIEW_CACHE_TTL_MS / 1000,
    useClones: false,
    maxKeys: options.cacheMaxEntries ?? DEFAULT_CACHE_MAX_ENTRIES,
  });

  function lookup(key: string): ValidatedToken | undefined {
    const hit = cache.get<CachedReview>(key);
    if (hit === undefined) return undefined;
    if (clock.now() < hit.expiresAt) return hit.validated;
    cache.del(key);
    return undefined;
  }

  function remember(key: string, token: string, validated: ValidatedToken): void {
    const now = clock.now();
    const ttl = reviewCacheTtlMs(token, now, cacheTtlMs);
    if (ttl <= 0) return;
    try {
      // node-cache's own (real-time) TTL only reclaims memory; expiry is decided by `expiresAt`.
      cache.set<CachedReview>(key, { validated, expiresAt: now + ttl }, Math.ceil(ttl / 1000));
    } catch {
      options.logger.debug({ [F.count]: cache.keys().length }, 'token review cache full');
    }
  }

  /** Reviews in flight, by token hash and pod: callers asking the same question share one. */
  const inFlight = new Map<string, Promise<ValidatedToken>>();

  async function reviewAndRemember(key: string, token: string, podUid: string | undefined): Promise<ValidatedToken> {
    const validated = Object.freeze(await options.review(token, podUid));
    if (cacheTtlMs > 0) remember(key, token, validated);
    return validated;
  }

  return {
    async validate(token, validateOptions) {
      if (token === '') throw new AgentError('TOKEN_INVALID', 'token is empty');
      const key = createHash('sha256').update(token).digest('hex');
      const cached = cacheTtlMs > 0 ? lookup(key) : undefined;
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
