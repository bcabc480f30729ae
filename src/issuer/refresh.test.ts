import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refreshIn, renewalDelay } from './refresh.js';

const policy = { minRefreshMs: 10_000, maxRefreshMs: 86_400_000 };
const H = 3_600_000;

test('refreshes at 70% of the remaining lifetime, clamped', () => {
  const now = 1_000_000;
  const cases: Array<[string, number, number]> = [
    ['24h left', now + 24 * H, Math.floor(24 * H * 0.7)],
    ['100s left', now + 100_000, 70_000],
    ['5s left clamps to min', now + 5_000, 10_000],
    ['expired uses min', now - 1, 10_000],
    ['exactly now uses min', now, 10_000],
    ['a year left clamps to max', now + 365 * 24 * H, 86_400_000],
  ];
  for (const [name, notAfter, want] of cases) assert.equal(refreshIn(now, notAfter, policy), want, name);
});

test('NaN expiry never yields a zero wait', () => {
  assert.equal(refreshIn(0, Number.NaN, policy), 10_000);
});

test('renewal comes up to 5 % early, as the injected randomness says', () => {
  const now = 0;
  const notAfter = 24 * H;
  const onTheDot = refreshIn(now, notAfter, policy);
  assert.equal(
    renewalDelay(now, notAfter, policy, () => 0),
    onTheDot,
  );
  assert.equal(
    renewalDelay(now, notAfter, policy, () => 0.5),
    Math.floor(onTheDot * 0.975),
  );
  assert.equal(
    renewalDelay(now, notAfter, policy, () => 0.999999),
    Math.floor(onTheDot * (1 - 0.05 * 0.999999)),
  );
  // A hundred agents with one SVID lifetime spread over the last 5 % of the wait, not one instant.
  const delays = Array.from({ length: 100 }, (_, i) => renewalDelay(now, notAfter, policy, () => i / 100));
  assert.equal(new Set(delays).size, 100);
  assert.ok(Math.min(...delays) >= onTheDot * 0.95 && Math.max(...delays) === onTheDot);
});

test('a broken random source changes nothing', () => {
  for (const bad of [Number.NaN, -1, 7, Number.POSITIVE_INFINITY]) {
    const d = renewalDelay(0, 100_000, policy, () => bad);
    assert.ok(d >= 66_500 && d <= 70_000, String(bad));
  }
});
