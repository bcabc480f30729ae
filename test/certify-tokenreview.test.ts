/**
 * Certify with the production TokenReview validator against the fake API server: the Linkerd
 * semantics of docs/linkerd-identity.md end to end, including INTERNAL when the API cannot be asked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { createKubeApi, createTokenReviewValidator, loadKubeConfig } from '../src/attestor/kubernetes.js';
import { type Certifier, certifyStatus, createCertifier, createCsr, type IssuerCredentials, newKeyPair } from '../src/issuer/index.js';
import { silentLogger } from '../src/log.js';
import { createValueChannel } from '../src/value-channel.js';
import { type FakeKubeApi, startFakeKubeApi } from './fakes/kube-api.js';
import { randomPodUid } from './support/proc-fixture.js';
import { assertLinkerdSans } from './support/san-order.js';
import { createTestCa, type TestCa } from './support/test-ca.js';
import { loadTestCredentials } from './support/test-credentials.js';

const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';

describe('Certify with TokenReview', () => {
  let api: FakeKubeApi;
  let ca: TestCa;
  let certifier: Certifier;

  before(async () => {
    api = await startFakeKubeApi();
    ca = await createTestCa();
    const { issuer } = await loadTestCredentials(ca, Date.now());
    const validator = createTokenReviewValidator({
      api: createKubeApi(await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath })),
      logger: silentLogger(),
      cacheTtlMs: 0,
    });
    certifier = createCertifier({
      issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
      validator,
      naming: { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' },
      clock: { now: () => Date.now() },
      lifetimeMs: 3_600_000,
      clockSkewMs: 20_000,
      logger: silentLogger(),
    });
  });
  after(() => api.close());

  const csr = () => createCsr({ privateKey: newKeyPair('ec', { namedCurve: 'P-256' }).privateKey, commonName: DNS, dnsNames: [DNS] });
  const token = (o: { sa?: string; audiences?: string[]; expiresInSeconds?: number } = {}) =>
    api.mintServiceAccountToken({
      namespace: 'emojivoto',
      serviceAccount: o.sa ?? 'web',
      pod: { name: 'web-1', uid: randomPodUid() },
      audiences: o.audiences ?? ['identity.l5d.io'],
      expiresInSeconds: o.expiresInSeconds,
    });
  const expectStatus = async (run: Promise<unknown>, code: status, details: RegExp) =>
    assert.rejects(run, (err: unknown) => {
      const st = certifyStatus(err, DNS);
      assert.equal(st.code, code, String(err));
      assert.match(st.details, details);
      return true;
    });

  test('a projected token proves the identity', async () => {
    const out = await certifier.certify({ identity: DNS, token: await token(), csr: csr() });
    assertLinkerdSans(out.leaf, { dnsName: DNS, spiffeId: 'spiffe://cluster.local/ns/emojivoto/sa/web' });
  });

  test('a token the API rejects is an invalid token (INVALID_ARGUMENT)', async () => {
    await expectStatus(
      certifier.certify({ identity: DNS, token: await token({ expiresInSeconds: -3600 }), csr: csr() }),
      status.INVALID_ARGUMENT,
      /./,
    );
    await expectStatus(
      certifier.certify({ identity: DNS, token: await token({ audiences: ['https://kubernetes.default.svc'] }), csr: csr() }),
      status.INVALID_ARGUMENT,
      /./,
    );
  });

  test('a token no authenticator recognises is not authenticated (FAILED_PRECONDITION)', async () => {
    await expectStatus(
      certifier.certify({ identity: DNS, token: 'not-a-jwt', csr: csr() }),
      status.FAILED_PRECONDITION,
      /^authentication token could not be authenticated$/,
    );
  });

  test('a user that is not a service account is an invalid token', async () => {
    const user = await api.mintUserToken({ username: 'jane', audiences: ['identity.l5d.io'] });
    await expectStatus(
      certifier.certify({ identity: DNS, token: user, csr: csr() }),
      status.INVALID_ARGUMENT,
      /system:TYPE:NS:SA|username/i,
    );
  });

  test('the token of another account does not match (FAILED_PRECONDITION)', async () => {
    await expectStatus(
      certifier.certify({ identity: DNS, token: await token({ sa: 'admin' }), csr: csr() }),
      status.FAILED_PRECONDITION,
      /requested identity did not match provided token/,
    );
  });

  test('an API error is INTERNAL, and Certify works again once the API is back', async () => {
    const t = await token();
    await api.fail(500);
    await expectStatus(certifier.certify({ identity: DNS, token: t, csr: csr() }), status.INTERNAL, /^error validating token for /);
    await api.refuse();
    await expectStatus(certifier.certify({ identity: DNS, token: t, csr: csr() }), status.INTERNAL, /^error validating token for /);
    await api.restore();
    await certifier.certify({ identity: DNS, token: t, csr: csr() });
  });
});
