import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { createTestCa, TEST_NOW, type TestCa } from '../../test/support/test-ca.js';
import { loadTestCredentials } from '../../test/support/test-credentials.js';
import { workloadIdentityFor } from '../identity.js';
import { silentLogger } from '../log.js';
import { createValueChannel } from '../value-channel.js';
import type { IssuerCredentials } from './credentials.js';
import { generateWorkloadKey } from './workload-key.js';
import { createX509SvidSigner, type X509SvidSignerOptions } from './x509-svid-signer.js';

const HOUR = 3_600_000;
const web = workloadIdentityFor(
  { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
  { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' },
);

describe('the X.509-SVID signer (embedded issuer and Certify alike)', () => {
  let ca: TestCa;
  let issuer: IssuerCredentials;
  const signer = (overrides: Partial<X509SvidSignerOptions> = {}) =>
    createX509SvidSigner({
      issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
      clock: { now: () => TEST_NOW },
      lifetimeMs: 24 * HOUR,
      clockSkewMs: 20_000,
      logger: silentLogger(),
      ...overrides,
    });

  before(async () => {
    ca = await createTestCa();
    ({ issuer } = await loadTestCredentials(ca, TEST_NOW));
  });

  test('issues for the workload key it is given: the leaf certifies its public half, no CSR involved', async () => {
    const key = generateWorkloadKey();
    const svid = await signer().issueX509Svid({ identity: web, key });
    const leaf = new X509Certificate(svid.leaf);
    assert.deepEqual(leaf.publicKey.export({ type: 'spki', format: 'der' }), key.publicKeySpki);
    assert.ok(leaf.checkPrivateKey(key.privateKey));
    assert.ok(leaf.verify(ca.intermediate.publicKey));
    assert.match(leaf.subjectAltName ?? '', /URI:spiffe:\/\/cluster\.local\/ns\/emojivoto\/sa\/web/);
    assert.deepEqual(svid.intermediates, [ca.intermediate.der]);
    assert.equal(svid.notBefore, TEST_NOW - 20_000);
    assert.equal(svid.notAfter, TEST_NOW + 24 * HOUR + 20_000);
    assert.equal(svid.serialHex, leaf.serialNumber.toLowerCase());
  });

  test('validity is clamped to the issuer chain; an expired chain signs nothing', async () => {
    const late = signer({ clock: { now: () => issuer.notAfter - HOUR }, clockSkewMs: 0 });
    assert.equal((await late.issueX509Svid({ identity: web, key: generateWorkloadKey() })).notAfter, issuer.notAfter);
    const expired = signer({ clock: { now: () => issuer.notAfter + 1 } });
    assert.throws(() => expired.sign(web, generateWorkloadKey().publicKeySpki), {
      code: 'SIGNING_FAILED',
      message: 'issuer chain has expired',
    });
  });

  test('notAfterAtMost shortens the leaf, never lengthens it', () => {
    const spki = generateWorkloadKey().publicKeySpki;
    assert.equal(signer().sign(web, spki, { notAfterAtMost: TEST_NOW + HOUR }).notAfter, TEST_NOW + HOUR);
    assert.equal(signer().sign(web, spki, { notAfterAtMost: TEST_NOW + 48 * HOUR }).notAfter, TEST_NOW + 24 * HOUR + 20_000);
  });

  test('no issuer loaded: ISSUER_NOT_READY', async () => {
    const none = signer({ issuer: createValueChannel<IssuerCredentials | undefined>(undefined).receiver });
    assert.throws(() => none.issuerInUse(), { code: 'ISSUER_NOT_READY' });
    await assert.rejects(none.issueX509Svid({ identity: web, key: generateWorkloadKey() }), { code: 'ISSUER_NOT_READY' });
  });

  test('a workload key shows nothing of itself when logged or inspected', async () => {
    const key = generateWorkloadKey();
    assert.equal(JSON.stringify({ key }), '{"key":"[workload key]"}');
    const { inspect } = await import('node:util');
    assert.equal(inspect(key), 'WorkloadKey { [redacted] }');
  });
});
