/**
 * JWT-SVID reuse (docs/workload-api.md; SPIRE `jwt_cache.go`, `rotationutil.go`): a token minted for an
 * (identity, sorted audiences) pair is handed out again until half its lifetime has passed.
 * SPIRE draws the threshold from [0.45, 0.55] of the lifetime; one agent serves one node, so
 * there is no fleet to spread and we use exactly one half, which keeps tests deterministic.
 *
 * Bounded like SPIRE's (`jwt_svid_cache_max_size`, default 1000): a hard LRU, keyed by a
 * SHA-256 of the pair so a key costs 32 bytes however long the audiences are.
 */
import { createHash } from 'node:crypto';
import { createBoundedCache } from '../bounded-cache.js';
import type { Clock } from '../clock.js';
import type { MintedJwtSvid } from '../issuer/index.js';

/** Default capacity, SPIRE's `jwt_svid_cache_max_size`. */
export const JWT_SVID_CACHE_SIZE = 1000;

/**
 * True while `svid` may still be handed out at `now`: before half its lifetime has passed.
 * A token whose lifetime is not positive is never reused.
 */
export function reusableJwtSvid(svid: Pick<MintedJwtSvid, 'issuedAt' | 'expiresAt'>, now: number): boolean {
  const lifetime = svid.expiresAt - svid.issuedAt;
  return lifetime > 0 && now < svid.issuedAt + lifetime / 2;
}

/** The cache key of an (identity, audiences) pair; audience order does not matter. */
export function jwtSvidCacheKey(spiffeId: string, audience: readonly string[]): string {
  const hash = createHash('sha256').update(spiffeId).update('\0');
  for (const aud of [...audience].sort()) hash.update(aud).update('\0');
  return hash.digest('base64url');
}

/** Options of {@link createJwtSvidCache}. */
export interface JwtSvidCacheOptions {
  /** Most tokens kept; the least recently used goes first. Default {@link JWT_SVID_CACHE_SIZE}. */
  readonly maxSize?: number;
  /** Decides when a token stops being reused. */
  readonly clock: Clock;
}

export interface JwtSvidCache {
  /** The cached token for the pair if it was signed by `kid` (the current signer) and is still reusable. */
  get(spiffeId: string, audience: readonly string[], kid: string): MintedJwtSvid | undefined;
  /** Stores a freshly minted token for the pair, reusable until half its lifetime has passed. */
  set(audience: readonly string[], svid: MintedJwtSvid): void;
  size(): number;
  /** Drops every token (the agent stops). */
  close(): void;
}

/**
 * Creates an empty cache on the agent's one bounded cache (`src/bounded-cache.ts`).
 * @throws TypeError when `maxSize` is not a positive integer
 */
export function createJwtSvidCache(options: JwtSvidCacheOptions): JwtSvidCache {
  const { clock } = options;
  const cache = createBoundedCache<MintedJwtSvid>({ maxEntries: options.maxSize ?? JWT_SVID_CACHE_SIZE, clock });
  return {
    get(spiffeId, audience, kid) {
      const key = jwtSvidCacheKey(spiffeId, audience);
      const hit = cache.get(key);
      if (hit === undefined) return undefined;
      // After a key rotation new tokens come from the new key, though old ones stay valid.
      if (hit.kid === kid && reusableJwtSvid(hit, clock.now())) return hit;
      cache.delete(key);
      return undefined;
    },
    set(audience, svid) {
      const lifetime = svid.expiresAt - svid.issuedAt;
      cache.set(jwtSvidCacheKey(svid.spiffeId, audience), svid, svid.issuedAt + lifetime / 2 - clock.now());
    },
    size: () => cache.size(),
    close: () => cache.close(),
  };
}
