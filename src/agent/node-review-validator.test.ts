import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { ReviewedWorkload, WorkloadEvidence } from './node-client.js';
import { createNodeReviewValidator } from './node-review-validator.js';
import { NodeServiceError } from './node-service-error.js';

const T0 = Date.UTC(2030, 0, 1);
const jwt = (expSeconds: number) => `e30.${Buffer.from(JSON.stringify({ exp: expSeconds })).toString('base64url')}.sig`;
const REVIEWED: ReviewedWorkload = {
  namespace: 'emojivoto',
  serviceAccount: 'web',
  podUid: 'pod-1',
  podName: 'web-abc',
  nodeName: 'node-a',
};

function world(answer: (e: WorkloadEvidence) => Promise<ReviewedWorkload>) {
  const clock = { ms: T0 };
  const asked: WorkloadEvidence[] = [];
  const validator = createNodeReviewValidator({
    client: {
      reviewWorkload: (e) => {
        asked.push(e);
        return answer(e);
      },
    },
    audience: 'identity.l5d.io',
    clock: { now: () => clock.ms },
  });
  return { clock, asked, validator };
}

test("the issuer's review is the token's account, pod and node; the caller's pod UID goes with it", async () => {
  const { validator, asked } = world(async () => REVIEWED);
  const token = jwt(T0 / 1000 + 3600);
  const validated = await validator.validate(token, { podUid: 'pod-1' });
  assert.deepEqual(validated, {
    account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
    audiences: ['identity.l5d.io'],
    podUid: 'pod-1',
    podName: 'web-abc',
    nodeName: 'node-a',
  });
  assert.deepEqual(asked, [{ token, podUid: 'pod-1' }]);
  validator.close();
});

test('a success is reused for at most 60 s and never past the token’s exp', async () => {
  const { validator, asked, clock } = world(async () => REVIEWED);
  const long = jwt(T0 / 1000 + 3600);
  await validator.validate(long, { podUid: 'pod-1' });
  clock.ms += 59_999;
  await validator.validate(long, { podUid: 'pod-1' });
  assert.equal(asked.length, 1);
  clock.ms += 1;
  await validator.validate(long, { podUid: 'pod-1' });
  assert.equal(asked.length, 2);
  const short = jwt(clock.ms / 1000 + 5);
  await validator.validate(short, { podUid: 'pod-1' });
  clock.ms += 5_000;
  await validator.validate(short, { podUid: 'pod-1' });
  assert.equal(asked.length, 4);
  validator.close();
});

test('a refusal is an invalid token, anything else a review that could not be made; neither is cached', async () => {
  let next: status = status.PERMISSION_DENIED;
  const { validator, asked } = world(async () => {
    throw new NodeServiceError('ReviewWorkload', next, 'no');
  });
  const token = jwt(T0 / 1000 + 3600);
  await assert.rejects(validator.validate(token, { podUid: 'pod-1' }), { code: 'TOKEN_INVALID' });
  for (const code of [status.UNAVAILABLE, status.UNAUTHENTICATED, status.RESOURCE_EXHAUSTED, status.INVALID_ARGUMENT]) {
    next = code;
    await assert.rejects(validator.validate(token, { podUid: 'pod-1' }), { code: 'TOKEN_REVIEW_FAILED' }, status[code]);
  }
  assert.equal(asked.length, 5, 'every failure asked again');
  validator.close();
});

test('an answer naming no usable account is refused', async () => {
  const { validator } = world(async () => ({ ...REVIEWED, namespace: '' }));
  await assert.rejects(validator.validate(jwt(T0 / 1000 + 60), { podUid: 'pod-1' }), { code: 'TOKEN_INVALID' });
  validator.close();
});
