import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createCallerGate } from './caller-gate.js';

/** A job that finishes when the test says so, recording when it started. */
function jobs() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const job = (name: string) => () => {
    started.push(name);
    return new Promise<string>((resolve) => finish.set(name, () => resolve(name)));
  };
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { started, job, done: (name: string) => finish.get(name)?.(), settle };
}

test("a group's jobs beyond perGroup wait in order; another group's start at once", async () => {
  const gate = createCallerGate({ perGroup: 2 });
  const j = jobs();
  const attacker = ['a1', 'a2', 'a3', 'a4'].map((n) => gate.run('uid:65534', j.job(n)));
  const good = gate.run('uid:1000', j.job('good'));
  await j.settle();
  assert.deepEqual(j.started, ['a1', 'a2', 'good'], 'the good caller does not queue behind the attacker');
  assert.deepEqual(gate.load('uid:65534'), { running: 2, waiting: 2 });
  j.done('good');
  assert.equal(await good, 'good');
  j.done('a2');
  await j.settle();
  assert.deepEqual(j.started, ['a1', 'a2', 'good', 'a3']);
  for (const n of ['a1', 'a3', 'a4']) {
    j.done(n);
    await j.settle();
  }
  assert.deepEqual(await Promise.all(attacker), ['a1', 'a2', 'a3', 'a4']);
  assert.deepEqual(gate.load('uid:65534'), { running: 0, waiting: 0 }, 'nothing kept for an idle group');
});

test('tryRun runs only when the group has a place free now', async () => {
  const gate = createCallerGate({ perGroup: 1 });
  const j = jobs();
  const first = gate.tryRun('pod:a', j.job('a1'));
  assert.ok(first);
  assert.equal(gate.tryRun('pod:a', j.job('a2')), undefined, 'the lane is full');
  assert.ok(gate.tryRun('pod:b', j.job('b1')), 'another group is not held up');
  await j.settle();
  assert.deepEqual(j.started, ['a1', 'b1']);
  j.done('a1');
  assert.equal(await first, 'a1');
  assert.deepEqual(gate.load('pod:a'), { running: 0, waiting: 0 });
});

test('a job that fails frees its place; a waiting job whose caller went away never runs', async () => {
  const gate = createCallerGate({ perGroup: 1 });
  const j = jobs();
  const failing = gate.run('g', () => Promise.reject(new Error('attestation failed')));
  const holder = gate.run('g', j.job('holder'));
  const controller = new AbortController();
  const leaving = gate.run('g', j.job('leaving'), controller.signal);
  const last = gate.run('g', j.job('last'));
  await assert.rejects(failing, /attestation failed/);
  await j.settle();
  assert.deepEqual(j.started, ['holder']);
  controller.abort();
  await assert.rejects(leaving, { code: 'CANCELLED' });
  j.done('holder');
  await j.settle();
  assert.equal(await holder, 'holder');
  assert.deepEqual(j.started, ['holder', 'last'], 'the cancelled job was skipped');
  j.done('last');
  assert.equal(await last, 'last');
  await assert.rejects(gate.run('g', j.job('never'), controller.signal), { code: 'CANCELLED' }, 'already aborted: refused at once');
});

test('perGroup must be a positive integer', () => {
  assert.throws(() => createCallerGate({ perGroup: 0 }), TypeError);
});
