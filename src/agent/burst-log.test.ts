import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBurstLog } from './burst-log.js';

test('one line per burst; the next line says how many were left out', () => {
  let now = 0;
  const lines: Array<Record<string, unknown>> = [];
  const log = createBurstLog((fields) => lines.push(fields), { windowMs: 10_000, clock: { now: () => now } });
  for (let i = 0; i < 500; i++) log({ reason: 'caller_limit' });
  assert.deepEqual(lines, [{ reason: 'caller_limit' }]);
  now = 10_000;
  log({ reason: 'total_limit' });
  assert.deepEqual(lines[1], { reason: 'total_limit', suppressed: 499 });
});
