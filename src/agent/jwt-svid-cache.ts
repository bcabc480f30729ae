/**
 * JWT-SVID reuse (SPEC §7; SPIRE `jwt_cache.go`, `rotationutil.go`): a token minted for an
 * (identity, sorted audiences) pair is handed out again until half its lifetime has passed.
 * SPIRE draws the threshold from [0.45, 0.55] of the lifetime; one agent serves one node, so
 * there is no fleet to spread and we use exactly one half, which keeps tests deterministic.
 *
 * Bounded like SPIRE's (`jwt_svid_cache_max_size`, default 1000): a hard LRU, keyed by a
 * SHA-256 of the pair so a key costs 32 bytes however long the audiences are.
 */
import { createHash } from 'node:crypto';
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
}

export interface JwtSvidCache {
  /**
   * The cached token for the pair if it was signed by `kid` (the current signer) and is still
   * reusable at `now`; a stale entry is dropped.
   */
  get(spiffeId: string, audience: readonly string[], kid: string, now: number): MintedJwtSvid | undefined;
  /** Stores a freshly minted token for the pair. */
  set(audience: readonly string[], svid: MintedJwtSvid): void;
  size(): number;
}

/** Creates an empty cache. @throws TypeError when `maxSize` is not a positive integer */
export function createJwtSvidCache(options: JwtSvidCacheOptions = {}): JwtSvidCache {
  const maxSize = options.maxSize ?? JWT_SVID_CACHE_SIZE;
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new TypeError('maxSize must be a positive integer');
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recent.
  const entries = new Map<string, MintedJwtSvid>();
  return {
    get(spiffeId, audience, kid, now) {
      const key = jwtSvidCacheKey(spiffeId, audience);
      const hit = entries.get(key);
      if (!hit) return undefined;
      entries.delete(key);
      // After a key rotation new tokens come from the new key, though old ones stay valid.
      if (hit.kid !== kid || !reusableJwtSvid(hit, now)) return undefined;
      entries.set(key, hit);
      return hit;
    },
    set(audience, svid) {
      const key = jwtSvidCacheKey(svid.spiffeId, audience);
      entries.delete(key);
      entries.set(key, svid);
      while (entries.size > maxSize) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    size: () => entries.size,
  };
}
