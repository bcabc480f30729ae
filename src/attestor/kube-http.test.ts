/**
 * The kept-alive pool against the strict fake API, counting TLS connections on the server's
 * side: sequential calls share one connection, a burst opens at most the pool size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeKubeApi, startFakeKubeApi } from '../../test/fakes/kube-api.js';
import { silentLogger } from '../log.js';
import { createKubeApi, describeKubeFailure, type KubeClientConfig, loadKubeConfig } from './kube-client.js';
import { DEFAULT_MAX_SOCKETS, KubeHttpError, KubeTimeoutError } from './kube-http.js';
import { createTokenReviewValidator } from './token-review.js';

const ACCESS_REVIEW = {
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  spec: { resourceAttributes: { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' } },
};

describe('kube http pool', () => {
  let api: FakeKubeApi;
  let config: KubeClientConfig;
  before(async () => {
    api = await startFakeKubeApi();
    config = await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath });
  });
  after(() => api.close());

  const mintTokens = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: `sa-${i}`, audiences: ['identity.l5d.io'] }),
      ),
    );

  test('100 sequential TokenReviews of distinct tokens use one connection', async () => {
    const kube = createKubeApi(config);
    const validator = createTokenReviewValidator({ api: kube, logger: silentLogger() });
    const tokens = await mintTokens(100);
    const before = { ...api.counts };
    try {
      for (const token of tokens) await validator.validate(token);
    } finally {
      validator.close();
      kube.close();
    }
    assert.equal(api.counts.tokenReviews - before.tokenReviews, 100);
    assert.equal(api.counts.connections - before.connections, 1);
  });

  test('a burst of 100 opens at most the pool size', async () => {
    const kube = createKubeApi(config);
    const validator = createTokenReviewValidator({ api: kube, logger: silentLogger() });
    const tokens = await mintTokens(100);
    const before = { ...api.counts };
    try {
      const validated = await Promise.all(tokens.map((token) => validator.validate(token)));
      assert.equal(new Set(validated.map((v) => v.account.name)).size, 100);
    } finally {
      validator.close();
      kube.close();
    }
    assert.equal(api.counts.tokenReviews - before.tokenReviews, 100);
    const opened = api.counts.connections - before.connections;
    assert.ok(opened >= 1 && opened <= DEFAULT_MAX_SOCKETS, `${opened} connections`);
  });

  test('connections the server closed are replaced', async () => {
    const kube = createKubeApi(config);
    try {
      const [token] = await mintTokens(1);
      const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['identity.l5d.io'] } };
      await kube.createTokenReview(review);
      const opened = api.counts.connections;
      await api.restore(); // destroys every open connection, the kept-alive one too
      const answer = await kube.createTokenReview(review);
      assert.equal(answer.status?.authenticated, true);
      assert.equal(api.counts.connections, opened + 1);
    } finally {
      kube.close();
    }
  });

  test('a refusal is a KubeHttpError with the status and the body', async (t) => {
    t.after(() => api.restore());
    const kube = createKubeApi(config);
    try {
      api.fail(503);
      const err = await kube.createSelfSubjectAccessReview(ACCESS_REVIEW).then(
        () => assert.fail('no error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof KubeHttpError);
      assert.equal(err.status, 503);
      assert.equal((JSON.parse(err.body) as { reason: string }).reason, 'ServiceUnavailable');
    } finally {
      kube.close();
    }
  });

  test('a call past its time limit rejects with a KubeTimeoutError; the next call is answered on a new connection', async (t) => {
    t.after(() => api.restore());
    const kube = createKubeApi(config);
    try {
      await kube.createSelfSubjectAccessReview(ACCESS_REVIEW, { timeoutMs: 5_000 });
      const connections = api.counts.connections;
      api.hang();
      await assert.rejects(kube.createSelfSubjectAccessReview(ACCESS_REVIEW, { timeoutMs: 100 }), (err: unknown) => {
        assert.ok(err instanceof KubeTimeoutError);
        assert.equal(describeKubeFailure(err), 'kubernetes api did not answer within 100 ms');
        return true;
      });
      await api.restore();
      await kube.createSelfSubjectAccessReview(ACCESS_REVIEW, { timeoutMs: 5_000 });
      assert.equal(api.counts.connections, connections + 1, 'the hung connection was closed, not reused');
    } finally {
      kube.close();
    }
  });
});
