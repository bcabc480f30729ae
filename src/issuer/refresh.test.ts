import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refreshIn } from './refresh.js';

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
