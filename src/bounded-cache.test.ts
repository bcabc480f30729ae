/**
 * The one bounded cache (issue 15): expiry on an injected clock, the least recently used entry
 * dropped when full, no timer, empty once closed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBoundedCache } from './bounded-cache.js';

function clock(start = 1_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

test('an entry lives exactly its ttl on the injected clock; a non-positive ttl stores nothing', () => {
  const c = clock();
  const cache = createBoundedCache<string>({ maxEntries: 10, clock: c });
  cache.set('a', 'A', 1_000);
  cache.set('never', 'N', 0);
  c.advance(999);
  assert.equal(cache.get('a'), 'A');
  assert.equal(cache.get('never'), undefined);
  c.advance(1);
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.size(), 0, 'the expired entry went when it was read');
});

test('when full, the least recently used entry goes; a new one is never refused', () => {
  const c = clock();
  const cache = createBoundedCache<number>({ maxEntries: 3, clock: c });
  for (const [i, key] of ['a', 'b', 'c'].entries()) cache.set(key, i, 60_000);
  assert.equal(cache.get('a'), 0, 'a is now the most recently used');
  cache.set('d', 3, 60_000);
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((k) => cache.get(k)),
    [0, undefined, 2, 3],
  );
  cache.set('c', 20, 60_000);
  assert.equal(cache.get('c'), 20, 'setting an existing key replaces it without evicting another');
  assert.equal(cache.size(), 3);
  for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i, 60_000);
  assert.equal(cache.size(), 3, 'the bound holds');
});

test('closed: empty, and later sets are ignored', () => {
  const cache = createBoundedCache<string>({ maxEntries: 2, clock: clock() });
  cache.set('a', 'A', 1_000);
  cache.close();
  assert.equal(cache.size(), 0);
  cache.set('b', 'B', 1_000);
  assert.equal(cache.get('b'), undefined);
});

test('a bad bound is caller misuse', () => {
  for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => createBoundedCache({ maxEntries, clock: clock() }), TypeError, String(maxEntries));
  }
});
