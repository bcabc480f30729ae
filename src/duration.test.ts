import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

test('parses the units users write', () => {
  const cases: Array<[string, number]> = [
    ['90s', 90_000],
    ['15m', 900_000],
    ['24h', 86_400_000],
    ['500ms', 500],
    ['1h30m', 5_400_000],
    ['2d', 172_800_000],
    ['0', 0],
    ['1.5s', 1500],
  ];
  for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
});

test('rejects what is not a duration, naming the value', () => {
  for (const bad of ['', '10', 'abc', '5 minutes', '-1s', '1x', 's']) {
    assert.throws(
      () => parseDuration(bad),
      (err: Error) => err instanceof TypeError && (bad === '' || err.message.includes(bad)),
      bad,
    );
  }
});

test('formats round-trip', () => {
  for (const ms of [0, 250, 1000, 90_000, 5_400_000, 86_400_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
});
