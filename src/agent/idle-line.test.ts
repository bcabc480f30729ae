import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createIdleLine } from './idle-line.js';

const line = (graceMs: number, max: number) => {
  const clock = { ms: 0 };
  return { clock, idle: createIdleLine({ graceMs, max, clock: { now: () => clock.ms } }) };
};

test('past its grace an id is listed, longest idle first, and stays until deleted', () => {
  const { clock, idle } = line(60_000, 10);
  idle.add('a');
  clock.ms += 10;
  idle.add('b');
  clock.ms += 59_990;
  assert.deepEqual(idle.pastGrace(), ['a']);
  clock.ms += 10;
  assert.deepEqual(idle.pastGrace(), ['a', 'b']);
  idle.delete('a');
  assert.deepEqual(idle.pastGrace(), ['b']);
});

test('over the cap the longest idle leave the line; adding again moves an id to the end', () => {
  const { clock, idle } = line(60_000, 2);
  assert.deepEqual(idle.add('a'), []);
  assert.deepEqual(idle.add('b'), []);
  assert.deepEqual(idle.add('a'), [], 'a again: now the newest');
  assert.deepEqual(idle.add('c'), ['b']);
  clock.ms += 60_000;
  assert.deepEqual(idle.pastGrace(), ['a', 'c']);
});

test('a cap that is not a positive integer is refused', () => {
  assert.throws(() => line(0, 0), TypeError);
});
