import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPushQueue, type Pushable } from './push-queue.js';

/** Turns of the event loop, run by hand. */
function manualTurns() {
  const turns: Array<() => void> = [];
  return {
    defer: (turn: () => void) => {
      turns.push(turn);
    },
    pending: () => turns.length,
    /** Runs the next deferred turn. */
    next() {
      const turn = turns.shift();
      assert.ok(turn, 'no turn deferred');
      turn();
    },
  };
}

/** Streams that record the order they were pushed in. */
function streams(n: number, log: number[]): Pushable[] {
  return Array.from({ length: n }, (_, i) => ({ push: () => log.push(i) }));
}

test('a fan-out reaches every item, at most one batch per turn, in the order queued', () => {
  const turns = manualTurns();
  const queue = createPushQueue({ batch: 3, defer: turns.defer });
  const pushed: number[] = [];
  for (const s of streams(8, pushed)) queue.add(s);
  assert.deepEqual(pushed, [], 'nothing is pushed in the turn that queued');
  assert.equal(turns.pending(), 1, 'one turn deferred, however many were queued');
  turns.next();
  assert.deepEqual(pushed, [0, 1, 2]);
  turns.next();
  turns.next();
  assert.deepEqual(pushed, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(turns.pending(), 0, 'an empty queue defers nothing');
  assert.equal(queue.size(), 0);
});

test('an item queued again before its turn is pushed once', () => {
  const turns = manualTurns();
  const queue = createPushQueue({ batch: 10, defer: turns.defer });
  const pushed: number[] = [];
  const [a, b] = streams(2, pushed) as [Pushable, Pushable];
  queue.add(a);
  queue.add(b);
  queue.add(a);
  turns.next();
  assert.deepEqual(pushed, [0, 1]);
  assert.equal(turns.pending(), 0);
});

test('an item queued again after its push is pushed again, in a later turn', () => {
  const turns = manualTurns();
  const queue = createPushQueue({ batch: 1, defer: turns.defer });
  const pushed: number[] = [];
  const [a, b] = streams(2, pushed) as [Pushable, Pushable];
  queue.add(a);
  queue.add(b);
  turns.next();
  queue.add(a);
  turns.next();
  turns.next();
  assert.deepEqual(pushed, [0, 1, 0]);
});

test('a deleted item (a closed stream) is not pushed', () => {
  const turns = manualTurns();
  const queue = createPushQueue({ batch: 10, defer: turns.defer });
  const pushed: number[] = [];
  const [a, b, c] = streams(3, pushed) as [Pushable, Pushable, Pushable];
  queue.add(a);
  queue.add(b);
  queue.add(c);
  queue.delete(b);
  turns.next();
  assert.deepEqual(pushed, [0, 2]);
});

test('a push that throws leaves the rest queued for the next turn', () => {
  const turns = manualTurns();
  const queue = createPushQueue({ batch: 10, defer: turns.defer });
  const pushed: number[] = [];
  const [a, b] = streams(2, pushed) as [Pushable, Pushable];
  queue.add({
    push: () => {
      throw new Error('boom');
    },
  });
  queue.add(a);
  queue.add(b);
  assert.throws(() => turns.next(), /boom/);
  turns.next();
  assert.deepEqual(pushed, [0, 1]);
});

test('a batch that is not a positive integer is a TypeError', () => {
  for (const batch of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => createPushQueue({ batch, defer: () => {} }), TypeError);
  }
});
