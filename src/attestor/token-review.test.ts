import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeKubeApi, startFakeKubeApi } from '../../test/fakes/kube-api.js';
import { captureLogger } from '../../test/support/log-capture.js';
import { describeError, isAgentError } from '../errors.js';
import { createKubeApi, type KubeClientConfig, loadKubeConfig } from './kube-client.js';
import {
  accountFromUsername,
  createTokenReviewValidator,
  DEFAULT_TOKEN_AUDIENCE,
  reviewCacheTtlMs,
  type TokenReviewValidator,
  validatedTokenFromStatus,
} from './token-review.js';

const AUD = DEFAULT_TOKEN_AUDIENCE;
const POD = { name: 'web-7d9f-abcde', uid: '5b0e6a4e-9c1d-4f3a-8e2b-7c6d5e4f3a21' };

/** A clock tests move by hand; starts at the wall clock because the fake API mints with it. */
function manualClock(): { now(): number; advance(ms: number): void } {
  let t = Date.now();
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
  };
}

describe('validatedTokenFromStatus (JSON fixtures)', () => {
  const user = {
    username: 'system:serviceaccount:emojivoto:web',
    uid: 'u',
    groups: ['system:serviceaccounts'],
    extra: {
      'authentication.kubernetes.io/pod-uid': [POD.uid],
      'authentication.kubernetes.io/pod-name': [POD.name],
      'authentication.kubernetes.io/node-name': ['node-1'],
    },
  };

  test('an authenticated bound token', () => {
    assert.deepEqual(validatedTokenFromStatus({ authenticated: true, audiences: [AUD], user }, AUD), {
      account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
      audiences: [AUD],
      podUid: POD.uid,
      podName: POD.name,
      nodeName: 'node-1',
    });
    const legacy = validatedTokenFromStatus({ authenticated: true, audiences: [AUD], user: { ...user, extra: {} } }, AUD);
    assert.equal(legacy.podUid, undefined);
  });

  const rejected: Array<[string, Parameters<typeof validatedTokenFromStatus>[0], string]> = [
    ['error set', { authenticated: false, error: '[invalid bearer token, service account token has expired]' }, 'TOKEN_INVALID'],
    ['error set even if authenticated', { authenticated: true, audiences: [AUD], user, error: 'x' }, 'TOKEN_INVALID'],
    ['not authenticated', { authenticated: false }, 'TOKEN_NOT_AUTHENTICATED'],
    ['authenticated missing', { audiences: [AUD], user }, 'TOKEN_NOT_AUTHENTICATED'],
    ['our audience missing', { authenticated: true, audiences: ['other'], user }, 'TOKEN_INVALID'],
    ['no audiences', { authenticated: true, user }, 'TOKEN_INVALID'],
    ['three-part username', { authenticated: true, audiences: [AUD], user: { ...user, username: 'system:node:n1' } }, 'TOKEN_INVALID'],
    ['not system:', { authenticated: true, audiences: [AUD], user: { ...user, username: 'jane:serviceaccount:a:b' } }, 'TOKEN_INVALID'],
    [
      'bad namespace',
      { authenticated: true, audiences: [AUD], user: { ...user, username: 'system:serviceaccount:Bad_NS:web' } },
      'TOKEN_INVALID',
    ],
    [
      'two pod UIDs',
      { authenticated: true, audiences: [AUD], user: { ...user, extra: { 'authentication.kubernetes.io/pod-uid': ['a', 'b'] } } },
      'TOKEN_INVALID',
    ],
    ['no status', undefined, 'TOKEN_REVIEW_FAILED'],
    // Issue 15 (fuzzing): the API's JSON is checked, not trusted to have its declared types.
    ['null status', null as never, 'TOKEN_REVIEW_FAILED'],
    ['audiences not a list', { authenticated: true, audiences: AUD as never, user }, 'TOKEN_INVALID'],
    ['username not a string', { authenticated: true, audiences: [AUD], user: { ...user, username: 42 as never } }, 'TOKEN_INVALID'],
    [
      'extra value not a list',
      { authenticated: true, audiences: [AUD], user: { ...user, extra: { 'authentication.kubernetes.io/pod-uid': 'ab' as never } } },
      'TOKEN_INVALID',
    ],
  ];
  for (const [name, status, code] of rejected) {
    test(`rejects: ${name}`, () => {
      assert.throws(
        () => validatedTokenFromStatus(status, AUD),
        (err: unknown) => isAgentError(err) && err.code === code,
      );
    });
  }

  test('accountFromUsername', () => {
    assert.deepEqual(accountFromUsername('system:serviceaccount:ns:sa'), { type: 'serviceaccount', namespace: 'ns', name: 'sa' });
    for (const bad of [
      '',
      'jane',
      'system:serviceaccount:ns',
      'system:serviceaccount:ns:sa:x',
      'system:serviceaccount:ns:a.b',
      `system:x:${'a'.repeat(64)}:b`,
    ]) {
      assert.equal(accountFromUsername(bad), undefined, bad);
    }
  });
});

test('reviewCacheTtlMs: min(max, exp - now), 0 without a usable exp', () => {
  const jwt = (payload: object) => `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`;
  const now = 1_700_000_000_000;
  assert.equal(reviewCacheTtlMs(jwt({ exp: now / 1000 + 3600 }), now, 60_000), 60_000);
  assert.equal(reviewCacheTtlMs(jwt({ exp: now / 1000 + 10 }), now, 60_000), 10_000);
  assert.equal(reviewCacheTtlMs(jwt({ exp: now / 1000 - 10 }), now, 60_000), 0);
  assert.equal(reviewCacheTtlMs(jwt({}), now, 60_000), 0);
  assert.equal(reviewCacheTtlMs('garbage', now, 60_000), 0);
  // Not a compact JWS with an object payload and a numeric exp: never cached.
  const exp = now / 1000 + 3600;
  const part = (text: string) => Buffer.from(text).toString('base64url');
  for (const token of [
    `e30.${part(JSON.stringify({ exp }))}`,
    `e30.${part(JSON.stringify({ exp }))}.sig.extra`,
    `e30.${part(JSON.stringify({ exp }))}.sig.`,
    `.${part(JSON.stringify({ exp }))}`,
    `e30.${part(JSON.stringify([exp]))}.sig`,
    `e30.${part('null')}.sig`,
    `e30.${part(`{"exp":${exp}`)}.sig`,
    `e30.${part(JSON.stringify({ exp: String(exp) }))}.sig`,
    'e30..sig',
    '..',
  ]) {
    assert.equal(reviewCacheTtlMs(token, now, 60_000), 0, token);
  }
});

describe('TokenReview validator against the fake API', () => {
  let api: FakeKubeApi;
  let kubeConfig: KubeClientConfig;
  const validators: TokenReviewValidator[] = [];
  before(async () => {
    api = await startFakeKubeApi();
    kubeConfig = await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath });
  });
  after(async () => {
    for (const v of validators) v.close();
    await api.close();
  });

  function validator(options: { clock?: ReturnType<typeof manualClock>; timeoutMs?: number; cacheMaxEntries?: number } = {}) {
    const logs = captureLogger();
    const v = createTokenReviewValidator({
      api: createKubeApi(kubeConfig),
      logger: logs.logger,
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.cacheMaxEntries ? { cacheMaxEntries: options.cacheMaxEntries } : {}),
    });
    validators.push(v);
    return { v, logs };
  }
  const mint = (extra: { audiences?: string[]; expiresInSeconds?: number } = {}) =>
    api.mintServiceAccountToken({
      namespace: 'emojivoto',
      serviceAccount: 'web',
      pod: POD,
      node: { name: 'node-1' },
      audiences: [AUD],
      ...extra,
    });

  test('happy path: account, audiences and the pod and node extras', async () => {
    const { v } = validator();
    assert.deepEqual(await v.validate(await mint()), {
      account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
      audiences: [AUD],
      podUid: POD.uid,
      podName: POD.name,
      nodeName: 'node-1',
    });
  });

  test('token-level failures', async () => {
    const { v } = validator();
    const wrongAudience = await mint({ audiences: ['https://kubernetes.default.svc'] });
    await assert.rejects(
      v.validate(wrongAudience),
      (err: unknown) =>
        isAgentError(err, 'TOKEN_INVALID') && /is invalid for the target audiences \["identity.l5d.io"\]/.test(describeError(err)),
    );
    await assert.rejects(v.validate(await mint({ expiresInSeconds: -3600 })), (err: unknown) => isAgentError(err, 'TOKEN_INVALID'));
    await assert.rejects(v.validate('not-a-jwt'), (err: unknown) => isAgentError(err, 'TOKEN_NOT_AUTHENTICATED'));
    await assert.rejects(v.validate(''), (err: unknown) => isAgentError(err, 'TOKEN_INVALID'));
    const jane = await api.mintUserToken({ username: 'jane@example.com', audiences: [AUD] });
    await assert.rejects(v.validate(jane), (err: unknown) => isAgentError(err, 'TOKEN_INVALID'));
    const badNs = await api.mintServiceAccountToken({ namespace: 'Bad_NS', serviceAccount: 'web', pod: POD, audiences: [AUD] });
    await assert.rejects(v.validate(badNs), (err: unknown) => isAgentError(err, 'TOKEN_INVALID'));
  });

  test('API failures are TOKEN_REVIEW_FAILED; refusals of the agent itself are logged as errors', async (t) => {
    t.after(() => api.restore());
    const { v, logs } = validator({ timeoutMs: 200 });
    const token = await mint();
    const failed = (err: unknown) => isAgentError(err, 'TOKEN_REVIEW_FAILED');
    for (const status of [500, 503, 429]) {
      api.fail(status);
      await assert.rejects(v.validate(token), failed, String(status));
    }
    api.fail(403);
    await assert.rejects(v.validate(token), failed, '403');
    api.hang();
    await assert.rejects(v.validate(token), failed, 'timeout');
    await api.restore();
    await api.refuse();
    await assert.rejects(v.validate(token), failed, 'refused');
    await api.restore();
    assert.equal((await v.validate(token)).account.name, 'web', 'failures are not cached');
    const levels = logs.entries.map((e) => e.level);
    assert.deepEqual(levels, ['warn', 'warn', 'warn', 'error', 'warn', 'warn']);
    assert.ok(!logs.text().includes(token), 'the token is never logged');
  });

  test('the agent with bad credentials (401) fails clearly', async () => {
    const logs = captureLogger();
    const wrong: KubeClientConfig = {
      ...kubeConfig,
      target: async () => ({ tls: { ca: api.caPem }, headers: { authorization: 'Bearer wrong' } }),
    };
    const bad = createTokenReviewValidator({ api: createKubeApi(wrong), logger: logs.logger });
    validators.push(bad);
    await assert.rejects(
      bad.validate(await mint()),
      (err: unknown) => isAgentError(err, 'TOKEN_REVIEW_FAILED') && /401/.test(describeError(err)),
    );
    assert.match(String(logs.entries.at(-1)?.msg), /refused the agent/);
  });

  test('a caller that goes away stops waiting at once; its review goes on and fills the cache', async (t) => {
    t.after(() => {
      api.onTokenReview = undefined;
    });
    const { v } = validator();
    const token = await mint();
    let answer: () => void = () => undefined;
    const arrived = new Promise<void>((resolveArrived) => {
      api.onTokenReview = () => {
        resolveArrived();
        return new Promise<void>((release) => {
          answer = release;
        });
      };
    });
    const start = api.counts.tokenReviews;
    const controller = new AbortController();
    const gone = v.validate(token, { signal: controller.signal });
    await arrived;
    controller.abort();
    await assert.rejects(gone, (err: unknown) => isAgentError(err, 'CANCELLED'));
    // A second caller joins the review still in flight, which was not aborted.
    const joined = v.validate(token);
    answer();
    assert.equal((await joined).account.name, 'web');
    assert.equal((await v.validate(token)).account.name, 'web', 'now from the cache');
    assert.equal(api.counts.tokenReviews, start + 1, 'one review, not aborted, shared and cached');
  });

  test('a cache hit does not call the API again, up to 60 s', async () => {
    const clock = manualClock();
    const { v } = validator({ clock });
    const token = await mint();
    const start = api.counts.tokenReviews;
    await v.validate(token);
    await v.validate(token);
    clock.advance(59_000);
    await v.validate(token);
    assert.equal(api.counts.tokenReviews, start + 1);
    clock.advance(2_000);
    await v.validate(token);
    assert.equal(api.counts.tokenReviews, start + 2, 'never more than 60 s');
  });

  test("the cache never outlives the token's exp", async () => {
    const clock = manualClock();
    const { v } = validator({ clock });
    const token = await mint({ expiresInSeconds: 10 });
    const start = api.counts.tokenReviews;
    await v.validate(token);
    clock.advance(9_000);
    await v.validate(token);
    assert.equal(api.counts.tokenReviews, start + 1);
    clock.advance(1_500);
    // The real API would still accept it (a minute of leeway): the cache must ask anyway.
    await v.validate(token);
    assert.equal(api.counts.tokenReviews, start + 2);
  });

  test('a full cache drops the least recently used review instead of refusing new ones', async () => {
    const { v } = validator({ cacheMaxEntries: 2 });
    const [a, b, c] = [await mint(), await mint(), await mint()];
    const start = api.counts.tokenReviews;
    await v.validate(a);
    await v.validate(b);
    await v.validate(a);
    await v.validate(c);
    assert.equal(api.counts.tokenReviews, start + 3, 'a hit once, from the cache');
    await v.validate(c);
    await v.validate(a);
    assert.equal(api.counts.tokenReviews, start + 3, 'the newest (c) and the recently used (a) are cached');
    await v.validate(b);
    assert.equal(api.counts.tokenReviews, start + 4, 'b was dropped to make room');
    v.close();
    await v.validate(a);
    assert.equal(api.counts.tokenReviews, start + 5, 'closed: nothing is cached any more');
  });

  test('rejections are not cached', async () => {
    const { v } = validator();
    const start = api.counts.tokenReviews;
    const wrong = await mint({ audiences: ['other'] });
    await assert.rejects(v.validate(wrong));
    await assert.rejects(v.validate(wrong));
    assert.equal(api.counts.tokenReviews, start + 2);
  });

  test('bad options are TypeErrors', () => {
    const logs = captureLogger();
    const kubeApi = createKubeApi(kubeConfig);
    assert.throws(() => createTokenReviewValidator({ api: kubeApi, logger: logs.logger, audience: '' }), TypeError);
    assert.throws(() => createTokenReviewValidator({ api: kubeApi, logger: logs.logger, timeoutMs: 0 }), TypeError);
    assert.throws(() => createTokenReviewValidator({ api: kubeApi, logger: logs.logger, cacheTtlMs: -1 }), TypeError);
  });
});
