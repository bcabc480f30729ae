/** The fake Kubernetes API must be as strict as the real one, or tests against it prove little. */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_API_AUDIENCE, type FakeKubeApi, startFakeKubeApi } from './kube-api.js';

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function post(api: FakeKubeApi, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${api.url}${path}`,
      {
        method: 'POST',
        ca: api.caPem,
        agent: false,
        headers: { authorization: `Bearer ${api.agentToken}`, 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) }));
      },
    );
    req.on('error', reject);
    req.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
}

const REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';
const review = (token: string, audiences?: string[]) => ({
  apiVersion: 'authentication.k8s.io/v1',
  kind: 'TokenReview',
  spec: { token, ...(audiences ? { audiences } : {}) },
});
const statusOf = (reply: Reply) => reply.body.status as Record<string, unknown>;
const POD = { name: 'web-0', uid: '6a0c0c2e-4a38-4b8e-9d3c-0b7f4e1c9a11' };

describe('fake kube api', () => {
  let api: FakeKubeApi;
  before(async () => {
    api = await startFakeKubeApi();
  });
  after(() => api.close());

  test('requires the agent credential, a known path and a well-formed body', async () => {
    const token = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: POD });
    assert.equal((await post(api, REVIEWS, review(token), { authorization: 'Bearer wrong' })).status, 401);
    const missing = await post(api, '/api/v1/pods', {});
    assert.equal(missing.status, 404);
    assert.equal(missing.body.kind, 'Status');
    assert.equal((await post(api, REVIEWS, '{not json')).status, 400);
    assert.equal((await post(api, REVIEWS, { spec: { token } })).status, 400, 'kind is required');
    assert.equal((await post(api, REVIEWS, { ...review(token), kind: 'SubjectAccessReview' })).status, 400);
    assert.equal((await post(api, REVIEWS, review(''))).status, 400, 'token is required');
    assert.equal((await post(api, REVIEWS, { ...review(token), spec: { token, audiences: 'x' } })).status, 400);
  });

  test('a bound token: user, extras and the audience intersection', async () => {
    const token = await api.mintServiceAccountToken({
      namespace: 'ns',
      serviceAccount: 'sa',
      pod: POD,
      node: { name: 'node-1' },
      audiences: ['a', 'b'],
    });
    const reply = await post(api, REVIEWS, review(token, ['b', 'c']));
    assert.equal(reply.status, 201);
    const status = statusOf(reply);
    assert.equal(status.authenticated, true);
    assert.deepEqual(status.audiences, ['b']);
    const user = status.user as { username: string; groups: string[]; extra: Record<string, string[]> };
    assert.equal(user.username, 'system:serviceaccount:ns:sa');
    assert.ok(user.groups.includes('system:serviceaccounts:ns'));
    assert.deepEqual(user.extra['authentication.kubernetes.io/pod-uid'], [POD.uid]);
    assert.deepEqual(user.extra['authentication.kubernetes.io/pod-name'], [POD.name]);
    assert.deepEqual(user.extra['authentication.kubernetes.io/node-name'], ['node-1']);
  });

  test('audiences: the API default when none are asked; a mismatch is an error', async () => {
    const token = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: POD });
    assert.deepEqual(statusOf(await post(api, REVIEWS, review(token))).audiences, [DEFAULT_API_AUDIENCE]);
    const status = statusOf(await post(api, REVIEWS, review(token, ['identity.l5d.io'])));
    assert.equal(status.authenticated, false);
    assert.equal(
      status.error,
      `[invalid bearer token, token audiences ["${DEFAULT_API_AUDIENCE}"] is invalid for the target audiences ["identity.l5d.io"]]`,
    );
  });

  test('signature, expiry (with a minute of leeway), deleted pods and garbage', async () => {
    const good = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: POD });
    const [h, p] = good.split('.');
    const forged = `${h}.${p}.${Buffer.from('x'.repeat(64)).toString('base64url')}`;
    assert.match(String(statusOf(await post(api, REVIEWS, review(forged))).error), /invalid bearer token/);
    const expired = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: POD, expiresInSeconds: -120 });
    assert.match(String(statusOf(await post(api, REVIEWS, review(expired))).error), /has expired/);
    const justExpired = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: POD, expiresInSeconds: -5 });
    assert.equal(statusOf(await post(api, REVIEWS, review(justExpired))).authenticated, true);
    const garbage = statusOf(await post(api, REVIEWS, review('not-a-jwt')));
    assert.deepEqual(garbage, { authenticated: false });
    const other = { name: 'gone', uid: '0f7d0a52-38a4-4c5b-8b3e-2f0b1f0c6d77' };
    const bound = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: other });
    api.deletePod(other.uid);
    assert.match(String(statusOf(await post(api, REVIEWS, review(bound))).error), /invalidated/);
  });

  test('users that are not service accounts', async () => {
    const token = await api.mintUserToken({ username: 'jane@example.com', groups: ['devs'] });
    const user = statusOf(await post(api, REVIEWS, review(token))).user as { username: string; groups: string[] };
    assert.equal(user.username, 'jane@example.com');
    assert.deepEqual(user.groups, ['devs']);
  });

  test('self subject access reviews', async () => {
    const ssar = (resource: string) => ({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'create', group: 'authentication.k8s.io', resource } },
    });
    const path = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
    assert.deepEqual(statusOf(await post(api, path, ssar('tokenreviews'))), { allowed: true });
    assert.equal(statusOf(await post(api, path, ssar('secrets'))).allowed, false);
    api.setTokenReviewAccess(false, 'no RBAC policy matched');
    assert.deepEqual(statusOf(await post(api, path, ssar('tokenreviews'))), { allowed: false, reason: 'no RBAC policy matched' });
    api.setTokenReviewAccess(true);
    assert.equal((await post(api, path, { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {} })).status, 400);
  });

  test('faults: fail, refuse, restore, and the hook and counters', async () => {
    const token = await api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: 'sa', pod: POD });
    const before = api.counts.tokenReviews;
    api.fail(503);
    assert.equal((await post(api, REVIEWS, review(token))).status, 503);
    await api.refuse();
    await assert.rejects(post(api, REVIEWS, review(token)), /ECONNREFUSED/);
    await api.restore();
    const seen: string[][] = [];
    api.onTokenReview = (call) => {
      seen.push([...call.audiences]);
    };
    assert.equal((await post(api, REVIEWS, review(token, [DEFAULT_API_AUDIENCE]))).status, 201);
    api.onTokenReview = undefined;
    assert.deepEqual(seen, [[DEFAULT_API_AUDIENCE]]);
    assert.equal(api.counts.tokenReviews, before + 2, 'refused connections never reach the server');
  });
});
