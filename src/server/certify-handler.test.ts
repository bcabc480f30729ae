import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { type ServerUnaryCall, type sendUnaryData, status } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';
import type { Certifier, CertifyResult } from '../issuer/index.js';
import { silentLogger } from '../log.js';
import { createCertifyHandler } from './certify-handler.js';

/** A unary call as grpc-js hands it over: the request, `cancelled`, and the `cancelled` event. */
class FakeCall extends EventEmitter {
  cancelled = false;
  readonly request = {
    identity: 'web.ns.serviceaccount.identity.linkerd.cluster.local',
    token: Buffer.from('t'),
    certificate_signing_request: Buffer.alloc(1),
  };
  cancel(): void {
    this.cancelled = true;
    this.emit('cancelled');
  }
}

/** A certifier whose one answer the test gives when it wants. */
function heldCertifier(): { certifier: Certifier; calls: () => number; answer(result: CertifyResult | Error): void } {
  let calls = 0;
  let settle: ((result: CertifyResult | Error) => void) | undefined;
  return {
    certifier: {
      certify: () => {
        calls++;
        return new Promise((resolve, reject) => {
          settle = (result) => (result instanceof Error ? reject(result) : resolve(result));
        });
      },
    },
    calls: () => calls,
    answer: (result) => settle?.(result),
  };
}

const certified = {
  leaf: Buffer.from('leaf'),
  intermediates: [],
  notBefore: 0,
  notAfter: 86_400_000,
  serialHex: '01',
  validUntil: 86_400_000,
} as unknown as CertifyResult;

function run(certifier: Certifier, call: FakeCall) {
  const outcomes: string[] = [];
  const answers: Array<{ code?: status | undefined } | null> = [];
  const handler = createCertifyHandler({ certifier, metrics: { onCertify: (o) => outcomes.push(o) }, logger: silentLogger() });
  const callback: sendUnaryData<unknown> = (err) => answers.push(err === null ? null : { code: err.code });
  (handler.Certify as (c: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void)(call as never, callback);
  return { outcomes, answers };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('Certify handler: cancellation', () => {
  it('answers CANCELLED at once when the client cancels first, and only once', async () => {
    const held = heldCertifier();
    const call = new FakeCall();
    const { outcomes, answers } = run(held.certifier, call);
    call.cancel();
    assert.deepEqual(answers, [{ code: status.CANCELLED }]);
    assert.deepEqual(outcomes, ['CANCELLED']);
    // The review goes on; its late answer changes nothing.
    held.answer(certified);
    await settled();
    assert.deepEqual(answers, [{ code: status.CANCELLED }]);
    assert.deepEqual(outcomes, ['CANCELLED']);
  });

  it('a late refusal after the cancel changes nothing either', async () => {
    const held = heldCertifier();
    const call = new FakeCall();
    const { outcomes, answers } = run(held.certifier, call);
    call.cancel();
    held.answer(new AgentError('TOKEN_INVALID', 'no'));
    await settled();
    assert.deepEqual(answers, [{ code: status.CANCELLED }]);
    assert.deepEqual(outcomes, ['CANCELLED']);
  });

  it('does not start a call already cancelled', () => {
    const held = heldCertifier();
    const call = new FakeCall();
    call.cancelled = true;
    const { outcomes, answers } = run(held.certifier, call);
    assert.equal(held.calls(), 0);
    assert.deepEqual(answers, [{ code: status.CANCELLED }]);
    assert.deepEqual(outcomes, ['CANCELLED']);
  });

  it('the cancelled event grpc-js emits after an answered call is not a cancellation', async () => {
    for (const answer of [certified, new AgentError('TOKEN_INVALID', 'no')]) {
      const held = heldCertifier();
      const call = new FakeCall();
      const { outcomes, answers } = run(held.certifier, call);
      held.answer(answer);
      await settled();
      call.cancel();
      assert.equal(answers.length, 1);
      assert.deepEqual(outcomes, [answer === certified ? 'OK' : 'INVALID_ARGUMENT']);
      assert.equal(call.listenerCount('cancelled'), 0);
    }
  });
});
