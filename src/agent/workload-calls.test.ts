import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { captureLogger } from '../../test/support/log-capture.js';
import { AgentError } from '../errors.js';
import { createWorkloadCalls } from './workload-calls.js';

class FakeStream extends EventEmitter {
  cancelled = false;
  getPeer = () => 'uds:7';
}

test('a client that hangs up ends its call as CANCELLED: the body’s signal aborts, the log and the count say so', async () => {
  const log = captureLogger();
  const results: string[] = [];
  const calls = createWorkloadCalls(log.logger, (method, code) => results.push(`${method} ${code}`));
  const call = new FakeStream();
  const errors: unknown[] = [];
  call.on('error', (err) => errors.push(err));
  let aborted = false;
  const handler = calls.serverStreaming('FetchX509SVID', (_call, signal) => {
    return new Promise<void>((_resolve, reject) => {
      signal.addEventListener('abort', () => {
        aborted = true;
        // What a body sees when it stops waiting: the attestation or issuance gave up.
        reject(new AgentError('ATTESTATION_UNAVAILABLE', 'token could not be reviewed'));
      });
    });
  });
  handler(call as unknown as ServerWritableStream<unknown, unknown>);
  call.cancelled = true;
  call.emit('cancelled');
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(aborted);
  assert.deepEqual(results, ['FetchX509SVID CANCELLED']);
  assert.deepEqual(errors, [], 'nothing is sent to a client that is gone');
  const entry = log.entries.find((e) => e.msg === 'workload api call cancelled');
  assert.equal(entry?.code, 'CANCELLED');
  assert.equal(entry?.level, 'info');
});
