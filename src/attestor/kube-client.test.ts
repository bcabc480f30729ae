import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FakeKubeApi, startFakeKubeApi } from '../../test/fakes/kube-api.js';
import { isAgentError } from '../errors.js';
import { checkTokenReviewAccess, createKubeApi, KubeApiUnavailableError, loadKubeConfig, SERVICE_ACCOUNT_DIR } from './kube-client.js';

describe('kube client', () => {
  let api: FakeKubeApi;
  let dir: string;
  before(async () => {
    api = await startFakeKubeApi();
    dir = await mkdtemp(join(tmpdir(), 'kube-client-'));
  });
  after(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('loadKubeConfig', () => {
    test('--kubeconfig wins over KUBECONFIG and the in-cluster env', async () => {
      const config = await loadKubeConfig({
        kubeconfigPath: api.kubeconfigPath,
        env: { KUBECONFIG: '/nonexistent', KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
      });
      assert.deepEqual([config.server, config.origin], [api.url, `--kubeconfig ${api.kubeconfigPath}`]);
      await checkTokenReviewAccess(createKubeApi(config));
    });

    test('KUBECONFIG, a list whose first file sets the context', async () => {
      const extra = join(dir, 'extra');
      await writeFile(
        extra,
        'apiVersion: v1\nkind: Config\nclusters: [{name: other, cluster: {server: "https://10.9.9.9"}}]\n' +
          'users: [{name: other, user: {token: x}}]\ncontexts: [{name: other, context: {cluster: other, user: other}}]\n' +
          'current-context: other\n',
      );
      const config = await loadKubeConfig({ env: { KUBECONFIG: `${api.kubeconfigPath}:${extra}` } });
      assert.equal(config.server, api.url);
      await checkTokenReviewAccess(createKubeApi(config));
    });

    test('the in-cluster env wins over KUBECONFIG (docs/configuration.md), which is used outside a pod', async () => {
      const root = join(dir, 'pod-root-1');
      await api.writeInClusterFiles(root);
      const inPod = await loadKubeConfig({
        env: { KUBECONFIG: api.kubeconfigPath, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        inClusterRoot: root,
      });
      assert.deepEqual([inPod.server, inPod.origin], ['https://10.0.0.1:443', 'the in-cluster service account']);
      const outside = await loadKubeConfig({ env: { KUBECONFIG: api.kubeconfigPath } });
      assert.equal(outside.server, api.url);
    });

    test('in-cluster, with the env and the root injected, talks to the API', async () => {
      const root = join(dir, 'pod-root-2');
      const env = await api.writeInClusterFiles(root);
      const config = await loadKubeConfig({ env, inClusterRoot: root });
      assert.equal(config.server, api.url);
      await checkTokenReviewAccess(createKubeApi(config));
    });

    test('nothing usable is CONFIG_INVALID naming the way out', async () => {
      await assert.rejects(
        loadKubeConfig({ env: {} }),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && /--kubeconfig/.test(err.message),
      );
      await assert.rejects(
        loadKubeConfig({ kubeconfigPath: join(dir, 'missing') }),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && err.message.includes('missing'),
      );
      await assert.rejects(
        loadKubeConfig({
          env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
          inClusterRoot: join(dir, 'no-pod'),
        }),
        (err: unknown) =>
          isAgentError(err, 'CONFIG_INVALID') && err.message.includes('/var/run/secrets/kubernetes.io/serviceaccount/token'),
      );
    });

    test('a kubeconfig without a current cluster, or with a proxy, is CONFIG_INVALID', async () => {
      const empty = join(dir, 'empty');
      await writeFile(empty, 'apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n');
      await assert.rejects(
        loadKubeConfig({ kubeconfigPath: empty }),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && /no current cluster/.test(err.message),
      );
      const proxied = join(dir, 'proxied');
      await writeFile(
        proxied,
        'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://10.9.9.9", proxy-url: "http://proxy:3128"}}]\n' +
          'users: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n',
      );
      await assert.rejects(
        loadKubeConfig({ kubeconfigPath: proxied }),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && /proxy-url is not supported/.test(err.message),
      );
    });
  });

  describe('checkTokenReviewAccess', () => {
    const kubeApi = async () => createKubeApi(await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath }));

    test('allowed', async () => {
      await checkTokenReviewAccess(await kubeApi());
    });

    test('denied, with the API reason or a hint', async () => {
      api.setTokenReviewAccess(false, 'no RBAC policy matched');
      await assert.rejects(
        checkTokenReviewAccess(await kubeApi()),
        (err: unknown) =>
          isAgentError(err, 'CONFIG_INVALID') && err.message === 'the agent may not create tokenreviews: no RBAC policy matched',
      );
      api.setTokenReviewAccess(false);
      await assert.rejects(
        checkTokenReviewAccess(await kubeApi()),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && /may not create tokenreviews: .*system:auth-delegator/.test(err.message),
      );
      api.setTokenReviewAccess(true);
    });

    test("the agent's own credentials rejected is CONFIG_INVALID", async () => {
      const root = join(dir, 'pod-root-3');
      const env = await api.writeInClusterFiles(root);
      await writeFile(join(root, SERVICE_ACCOUNT_DIR, 'token'), 'not-the-agent');
      await assert.rejects(
        checkTokenReviewAccess(createKubeApi(await loadKubeConfig({ env, inClusterRoot: root }))),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && /401/.test(err.message),
      );
    });

    test('unreachable, failing or hanging API is KubeApiUnavailableError', async (t) => {
      t.after(() => api.restore());
      await api.refuse();
      await assert.rejects(
        checkTokenReviewAccess(await kubeApi()),
        (err: unknown) => err instanceof KubeApiUnavailableError && err.httpStatus === undefined,
      );
      await api.restore();
      api.fail(500);
      await assert.rejects(
        checkTokenReviewAccess(await kubeApi()),
        (err: unknown) => err instanceof KubeApiUnavailableError && err.httpStatus === 500,
      );
      api.hang();
      await assert.rejects(
        checkTokenReviewAccess(await kubeApi(), { timeoutMs: 200 }),
        (err: unknown) => err instanceof KubeApiUnavailableError && /did not answer within 200 ms/.test(err.message),
      );
    });
  });
});
