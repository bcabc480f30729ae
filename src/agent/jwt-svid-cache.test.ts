import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { MintedJwtSvid } from '../issuer/index.js';
import { createJwtSvidCache, jwtSvidCacheKey, reusableJwtSvid } from './jwt-svid-cache.js';

const ID = 'spiffe://cluster.local/ns/default/sa/web';
const T0 = Date.UTC(2030, 0, 1);

function svid(token: string, opts: { spiffeId?: string; kid?: string; issuedAt?: number; ttlMs?: number } = {}): MintedJwtSvid {
  const issuedAt = opts.issuedAt ?? T0;
  return { token, spiffeId: opts.spiffeId ?? ID, kid: opts.kid ?? 'k1', issuedAt, expiresAt: issuedAt + (opts.ttlMs ?? 300_000) };
}

describe('reusableJwtSvid', () => {
  test('reusable strictly before half the lifetime, never with a non-positive lifetime', () => {
    const s = svid('t');
    assert.equal(reusableJwtSvid(s, T0), true);
    assert.equal(reusableJwtSvid(s, T0 + 149_999), true);
    assert.equal(reusableJwtSvid(s, T0 + 150_000), false);
    assert.equal(reusableJwtSvid(s, T0 + 400_000), false);
    assert.equal(reusableJwtSvid({ issuedAt: T0, expiresAt: T0 }, T0), false);
  });
});

describe('jwtSvidCacheKey', () => {
  test('audience order does not matter; the identity and each audience do', () => {
    assert.equal(jwtSvidCacheKey(ID, ['a', 'b']), jwtSvidCacheKey(ID, ['b', 'a']));
    assert.notEqual(jwtSvidCacheKey(ID, ['a']), jwtSvidCacheKey(`${ID}x`, ['a']));
    // The separator keeps ["ab"] and ["a", "b"] apart.
    assert.notEqual(jwtSvidCacheKey(ID, ['ab']), jwtSvidCacheKey(ID, ['a', 'b']));
    assert.equal(jwtSvidCacheKey(ID, ['x'.repeat(5000)]).length, 43, 'keys are 32-byte hashes');
  });
});

describe('createJwtSvidCache', () => {
  test('hit for the same pair and signer within the half-life; miss after it, or after a key rotation', () => {
    let now = T0 + 1000;
    const cache = createJwtSvidCache({ clock: { now: () => now } });
    cache.set(['b', 'a'], svid('t1'));
    assert.equal(cache.get(ID, ['a', 'b'], 'k1')?.token, 't1');
    assert.equal(cache.get(ID, ['a'], 'k1'), undefined, 'another audience set');
    assert.equal(cache.get(ID, ['a', 'b'], 'k2'), undefined, 'the signer changed');
    assert.equal(cache.size(), 0, 'the stale entry was dropped');
    cache.set(['a', 'b'], svid('t2'));
    now = T0 + 149_999;
    assert.equal(cache.get(ID, ['a', 'b'], 'k1')?.token, 't2');
    now = T0 + 150_000;
    assert.equal(cache.get(ID, ['a', 'b'], 'k1'), undefined, 'half-life passed');
    assert.equal(cache.size(), 0);
  });

  test('a hard LRU bound: the least recently used entry goes first', () => {
    const cache = createJwtSvidCache({ maxSize: 2, clock: { now: () => T0 } });
    cache.set(['a'], svid('ta'));
    cache.set(['b'], svid('tb'));
    assert.equal(cache.get(ID, ['a'], 'k1')?.token, 'ta');
    cache.set(['c'], svid('tc'));
    assert.equal(cache.size(), 2);
    assert.equal(cache.get(ID, ['b'], 'k1'), undefined, 'b was least recently used');
    assert.equal(cache.get(ID, ['a'], 'k1')?.token, 'ta');
    assert.equal(cache.get(ID, ['c'], 'k1')?.token, 'tc');
    cache.close();
    assert.equal(cache.size(), 0, 'closed: empty');
    cache.set(['d'], svid('td'));
    assert.equal(cache.size(), 0, 'and stays empty');
  });

  test('a bad size is caller misuse', () => {
    const clock = { now: () => T0 };
    assert.throws(() => createJwtSvidCache({ maxSize: 0, clock }), TypeError);
    assert.throws(() => createJwtSvidCache({ maxSize: 1.5, clock }), TypeError);
  });
});
