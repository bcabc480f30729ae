import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { opensslOk, withTempDir } from '../../test/support/openssl.js';
import { TEST_NOW, TEST_NOW_SECONDS } from '../../test/support/test-ca.js';
import { createIssuerCa, createJwtSigningKey, createTrustAnchor } from './ca.js';
import { readCertificateInfo } from './cert-info.js';
import { newKeyPair } from './keygen.js';
import { createLeafSigner } from './leaf.js';
import { toPem } from './pem.js';

const YEAR = 365 * 24 * 60 * 60 * 1000;
const at = ['-attime', String(TEST_NOW_SECONDS)];

function text(file: string): string {
  return opensslOk(['x509', '-in', file, '-noout', '-text']);
}

describe('createTrustAnchor', () => {
  it('makes a self-signed CA that openssl verifies strictly', async () => {
    const root = createTrustAnchor({ now: TEST_NOW });
    await withTempDir(async (dir) => {
      const file = await dir.write('root.pem', root.certificatePem);
      assert.equal(opensslOk(['verify', '-x509_strict', ...at, '-CAfile', file, file]).trim(), `${file}: OK`);
      const t = text(file);
      assert.match(t, /Issuer: CN = root\.linkerd\.cluster\.local\n/);
      assert.match(t, /Subject: CN = root\.linkerd\.cluster\.local\n/);
      assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
      assert.match(t, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
      assert.match(t, /X509v3 Subject Key Identifier:/);
      assert.match(t, /Signature Algorithm: ecdsa-with-SHA256/);
    });
    const info = readCertificateInfo(root.certificateDer);
    assert.equal(info.notBefore, TEST_NOW - 60_000, 'backdated one minute');
    assert.equal(info.notAfter, TEST_NOW + 10 * YEAR);
    assert.equal(info.serial.length, 32, '16-octet random serial');
    assert.ok(info.x509.ca);
    assert.ok(info.x509.checkIssued(info.x509));
    assert.ok(info.x509.checkPrivateKey(root.privateKey));
    assert.match(root.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.ok(createPrivateKey(root.privateKeyPem).equals(root.privateKey));
    assert.equal(root.certificatePem, info.x509.toString());
  });

  it('honours the options', async () => {
    const root = createTrustAnchor({ commonName: 'my root', ttlMs: 1000 * 60 * 60, now: TEST_NOW, curve: 'P-384' });
    const info = readCertificateInfo(root.certificateDer);
    assert.equal(info.x509.subject, 'CN=my root');
    assert.equal(info.notAfter, TEST_NOW + 60 * 60 * 1000);
    assert.equal(root.privateKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    const p = new x509.X509Certificate(root.certificateDer);
    assert.equal(await p.verify({ date: new Date(TEST_NOW) }), true, '@peculiar/x509 checks the self-signature');
  });

  it('refuses bad options with TypeError', () => {
    assert.throws(() => createTrustAnchor({ commonName: '' }), TypeError);
    assert.throws(() => createTrustAnchor({ ttlMs: 0 }), TypeError);
    assert.throws(() => createTrustAnchor({ now: Number.NaN }), TypeError);
    assert.throws(() => createTrustAnchor({ curve: 'P-521' as 'P-256' }), TypeError);
  });
});

describe('createIssuerCa', () => {
  for (const curve of ['P-256', 'P-384'] as const) {
    it(`makes an issuer that chains to a ${curve} anchor and can sign leaves`, async () => {
      const anchor = createTrustAnchor({ now: TEST_NOW, curve });
      const issuer = createIssuerCa({ anchor, now: TEST_NOW });
      const signer = createLeafSigner({ certificateDer: issuer.certificateDer, privateKey: issuer.privateKey });
      const { publicKey } = newKeyPair('ec', { namedCurve: 'P-256' });
      const leaf = signer.sign({
        serial: Buffer.from([1, 2, 3]),
        notBefore: TEST_NOW,
        notAfter: TEST_NOW + 60_000,
        subjectPublicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
        spiffeId: 'spiffe://cluster.local/ns/a/sa/b',
        dnsName: 'b.a.serviceaccount.identity.linkerd.cluster.local',
      });
      await withTempDir(async (dir) => {
        const rootFile = await dir.write('root.pem', anchor.certificatePem);
        const issuerFile = await dir.write('issuer.pem', issuer.certificatePem);
        const leafFile = await dir.write('leaf.pem', toPem('CERTIFICATE', leaf));
        assert.equal(opensslOk(['verify', '-x509_strict', ...at, '-CAfile', rootFile, issuerFile]).trim(), `${issuerFile}: OK`);
        assert.equal(
          opensslOk(['verify', '-x509_strict', ...at, '-CAfile', rootFile, '-untrusted', issuerFile, leafFile]).trim(),
          `${leafFile}: OK`,
        );
        const t = text(issuerFile);
        assert.match(t, /Issuer: CN = root\.linkerd\.cluster\.local\n/);
        assert.match(t, /Subject: CN = identity\.linkerd\.cluster\.local\n/);
        assert.match(t, /X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0\n/);
        assert.match(t, /X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign\n/);
        assert.match(t, new RegExp(`Signature Algorithm: ecdsa-with-${curve === 'P-256' ? 'SHA256' : 'SHA384'}`));
      });
      const a = readCertificateInfo(anchor.certificateDer);
      const i = readCertificateInfo(issuer.certificateDer);
      assert.deepEqual(i.issuerDer, a.subjectDer);
      assert.deepEqual(i.authorityKeyId, a.subjectKeyId);
      assert.equal(i.notBefore, TEST_NOW - 60_000);
      assert.equal(i.notAfter, TEST_NOW + YEAR);
      assert.ok(i.x509.ca);
      assert.ok(i.x509.checkIssued(a.x509));
      assert.ok(i.x509.verify(a.x509.publicKey));
      assert.equal(issuer.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', 'P-256 by default, for ECDSA-SHA256 leaves');
      const p = new x509.X509Certificate(issuer.certificateDer);
      assert.equal(p.getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
      assert.equal(
        await p.verify({ publicKey: new x509.X509Certificate(anchor.certificateDer).publicKey, date: new Date(TEST_NOW) }),
        true,
      );
    });
  }

  it('gives every CA a distinct serial and key', () => {
    const anchor = createTrustAnchor();
    const a = createIssuerCa({ anchor, commonName: 'one' });
    const b = createIssuerCa({ anchor, commonName: 'two', ttlMs: 1000 });
    assert.notEqual(new X509Certificate(a.certificateDer).serialNumber, new X509Certificate(b.certificateDer).serialNumber);
    assert.ok(!a.privateKey.equals(b.privateKey));
    assert.equal(new X509Certificate(b.certificateDer).subject, 'CN=two');
  });

  it('refuses an anchor whose key it cannot sign with', () => {
    const anchor = createTrustAnchor();
    assert.throws(
      () => createIssuerCa({ anchor: { ...anchor, privateKey: newKeyPair('ed25519').privateKey } }),
      /trust anchor key must be an ec p-256 or p-384 private key, found ed25519/,
    );
    assert.throws(() => createIssuerCa({ anchor, ttlMs: -1 }), TypeError);
  });
});

describe('createJwtSigningKey', () => {
  it('returns a fresh P-256 PKCS#8 PEM key', () => {
    const { privateKeyPem } = createJwtSigningKey();
    assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(privateKeyPem);
    assert.deepEqual([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve], ['ec', 'prime256v1']);
    assert.notEqual(createJwtSigningKey().privateKeyPem, privateKeyPem);
  });
});
