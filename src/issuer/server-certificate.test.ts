import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { createTestCa, TEST_NOW } from '../../test/support/test-ca.js';
import { loadTestCredentials } from '../../test/support/test-credentials.js';
import { certificatesFromPem } from './pem.js';
import { issueServerCertificate } from './server-certificate.js';

const NAME = 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local';

test('the server certificate names the server, carries the issuer chain and holds a fresh key', async () => {
  const ca = await createTestCa();
  const { issuer } = await loadTestCredentials(ca, TEST_NOW);
  const options = { issuer, serverName: NAME, now: TEST_NOW, lifetimeMs: 3_600_000, clockSkewMs: 20_000 };
  const withUri = issueServerCertificate({ ...options, spiffeId: 'spiffe://cluster.local/ns/linkerd/sa/linkerd-identity' });
  const [leafDer, ...rest] = certificatesFromPem(withUri.chainPem);
  assert.deepEqual(rest, [ca.intermediate.der]);
  const leaf = new X509Certificate(leafDer as Buffer);
  assert.equal(leaf.subjectAltName, `DNS:${NAME}, URI:spiffe://cluster.local/ns/linkerd/sa/linkerd-identity`);
  assert.equal(leaf.checkPrivateKey(createPrivateKey(withUri.keyPem)), true);
  assert.equal(leaf.verify(ca.intermediate.publicKey), true);
  assert.equal(withUri.notAfter, TEST_NOW + 3_600_000 + 20_000);
  const dnsOnly = issueServerCertificate({ ...options, serverName: 'issuer.svid-agent.svc' });
  assert.equal(new X509Certificate(certificatesFromPem(dnsOnly.chainPem)[0] as Buffer).subjectAltName, 'DNS:issuer.svid-agent.svc');
  assert.notEqual(dnsOnly.keyPem, withUri.keyPem);
  assert.throws(() => issueServerCertificate({ ...options, now: issuer.notAfter }), { code: 'SIGNING_FAILED' });
});
