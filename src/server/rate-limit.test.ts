import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createNodeRateLimit } from './rate-limit.js';

test('each node has its own bucket: a burst, then the steady rate', () => {
  let now = 0;
  const limit = createNodeRateLimit({ clock: { now: () => now }, burst: 3, perSecond: 2 });
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limit.take('n1')),
    [true, true, true, false],
  );
  assert.equal(limit.take('n2'), true, 'another node is not affected');
  now += 499;
  assert.equal(limit.take('n1'), false);
  now += 1;
  assert.equal(limit.take('n1'), true);
  assert.equal(limit.take('n1'), false);
  now += 60_000;
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limit.take('n1')),
    [true, true, true, false],
    'refills to the burst, no further',
  );
});

test('nonsense limits are refused at construction', () => {
  assert.throws(() => createNodeRateLimit({ clock: { now: () => 0 }, burst: 0 }), TypeError);
  assert.throws(() => createNodeRateLimit({ clock: { now: () => 0 }, perSecond: 0 }), TypeError);
});
