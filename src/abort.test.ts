import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stopWaitingOnAbort } from './abort.js';

test('the caller stops waiting when its signal aborts; the work goes on', async () => {
  let finish: (value: string) => void = () => undefined;
  const work = new Promise<string>((resolve) => {
    finish = resolve;
  });
  const controller = new AbortController();
  const waiting = stopWaitingOnAbort(work, controller.signal);
  controller.abort();
  await assert.rejects(waiting, { code: 'CANCELLED', message: 'the caller went away' });
  finish('done');
  assert.equal(await work, 'done');
});

test('without an abort the outcome is the work’s; an aborted signal rejects at once', async () => {
  assert.equal(await stopWaitingOnAbort(Promise.resolve(1), new AbortController().signal), 1);
  assert.equal(await stopWaitingOnAbort(Promise.resolve(2), undefined), 2);
  await assert.rejects(stopWaitingOnAbort(Promise.reject(new Error('x')), new AbortController().signal), /x/);
  // The abandoned work's rejection is handled (no unhandled rejection fails this test file).
  await assert.rejects(stopWaitingOnAbort(Promise.reject(new Error('late')), AbortSignal.abort()), { code: 'CANCELLED' });
});
