import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, ISSUER_RETRY } from './backoff.js';

test('doubles from 1 s to the 30 s cap; the injected randomness picks between half and all of it', () => {
  const low = Array.from({ length: 8 }, (_, i) => backoffDelay(i, ISSUER_RETRY, () => 0));
  const high = Array.from({ length: 8 }, (_, i) => backoffDelay(i, ISSUER_RETRY, () => 0.999_999));
  assert.deepEqual(low, [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  assert.deepEqual(high, [999, 1_999, 3_999, 7_999, 15_999, 29_999, 29_999, 29_999]);
  assert.equal(
    backoffDelay(3, ISSUER_RETRY, () => 0.5),
    6_000,
  );
});

test('a thousand nodes failing together retry spread over the window, not at one instant', () => {
  let seed = 1;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const delays = Array.from({ length: 1000 }, () => backoffDelay(5, ISSUER_RETRY, random));
  assert.ok(Math.min(...delays) >= 15_000 && Math.max(...delays) < 30_000);
  const perSecond = new Map<number, number>();
  for (const d of delays) perSecond.set(Math.floor(d / 1000), (perSecond.get(Math.floor(d / 1000)) ?? 0) + 1);
  assert.ok(Math.max(...perSecond.values()) < 150, 'no second holds more than ~2x its share');
});

test('absurd attempts and random values stay within the policy', () => {
  assert.equal(
    backoffDelay(-3, ISSUER_RETRY, () => 0),
    500,
  );
  assert.equal(
    backoffDelay(10_000, ISSUER_RETRY, () => 2),
    30_000,
  );
  assert.equal(
    backoffDelay(0, ISSUER_RETRY, () => Number.NaN),
    500,
  );
});
