import assert from 'node:assert/strict';
import { createHash, createPublicKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { opensslOk, withTempDir } from '../../test/support/openssl.js';
import { assertLinkerdSans } from '../../test/support/san-order.js';
import { createTestIntermediate, createTestRoot, TEST_NOW, TEST_NOW_SECONDS, type TestCert } from '../../test/support/test-ca.js';
import { isAgentError } from '../errors.js';
import * as der from './der.js';
import { newKeyPair } from './keygen.js';
import { createLeafSigner, type LeafRequest, type LeafSigner } from './leaf.js';
import { toPem } from './pem.js';
import { randomSerial } from './serial.js';

const SPIFFE = 'spiffe://cluster.local/ns/emojivoto/sa/web';
const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const DAY = 24 * 60 * 60 * 1000;

const spki = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });
const ecKey = (namedCurve = 'prime256v1'): KeyObject => newKeyPair('ec', { namedCurve }).privateKey;

function request(overrides: Partial<LeafRequest> = {}): LeafRequest {
  return {
    serial: randomSerial(),
    notBefore: TEST_NOW - 20_000,
    notAfter: TEST_NOW + DAY + 20_000,
    subjectPublicKeySpki: spki(ecKey()),
    spiffeId: SPIFFE,
    dnsName: DNS,
    ...overrides,
  };
}

/** `openssl verify [-x509_strict]` at TEST_NOW for root → issuer → leaf, plus `openssl x509 -text` of the leaf. */
async function opensslCheck(root: TestCert, issuer: TestCert, leaf: Buffer, purpose: string, strict = true): Promise<string> {
  return withTempDir(async (dir) => {
    const rootFile = await dir.write('root.pem', root.pem);
    const issuerFile = await dir.write('issuer.pem', issuer.pem);
    const leafFile = await dir.write('leaf.pem', toPem('CERTIFICATE', leaf));
    const verified = opensslOk([
      'verify',
      ...(strict ? ['-x509_strict'] : []),
      '-attime',
      String(TEST_NOW_SECONDS),
      '-purpose',
      purpose,
      '-CAfile',
      rootFile,
      '-untrusted',
      issuerFile,
      leafFile,
    ]);
    assert.equal(verified.trim(), `${leafFile}: OK`);
    return opensslOk(['x509', '-in', leafFile, '-noout', '-text']);
  });
}

describe('createLeafSigner', () => {
  let root: TestCert;
  let issuer: TestCert;
  let signer: LeafSigner;

  before(async () => {
    root = await createTestRoot();
    issuer = await createTestIntermediate({ parent: root });
    signer = createLeafSigner({ certificateDer: issuer.der, privateKey: issuer.privateKey });
  });

  it('signs leaves that openssl verifies strictly, for server and client use', async () => {
    const leaf = signer.sign(request());
    await opensslCheck(root, issuer, leaf, 'sslserver');
    await opensslCheck(root, issuer, leaf, 'sslclient');
  });

  it('follows the SVID profile exactly (openssl x509 -text)', async () => {
    const leafKey = ecKey();
    const text = await opensslCheck(root, issuer, signer.sign(request({ subjectPublicKeySpki: spki(leafKey) })), 'sslserver');
    const issuerSki = issuer.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId.toUpperCase().match(/../g)?.join(':');
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
    assert.match(text, /Issuer: CN = Test Issuer CA\n/);
    assert.match(text, /Subject: *\n/);
    assert.match(text, new RegExp(`X509v3 Subject Alternative Name: critical\\n\\s+DNS:${DNS}, URI:${SPIFFE}\\n`));
    assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    assert.match(text, /X509v3 Extended Key Usage: *\n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    assert.match(text, new RegExp(`X509v3 Authority Key Identifier: *\\n\\s+(keyid:)?${issuerSki}\\n`));
    const leafSki = createHash('sha1')
      .update(der.readBitString(der.childrenOf(der.decode(spki(leafKey)))[1]).bytes)
      .digest('hex');
    assert.match(text, new RegExp(`X509v3 Subject Key Identifier: *\\n\\s+${leafSki.toUpperCase().match(/../g)?.join(':')}\\n`));
    assert.equal(text.match(/X509v3 [A-Z][A-Za-z ]+:/g)?.length, 6, 'exactly six extensions');
  });

  it('without a SPIFFE ID carries the DNS name alone (a TLS server certificate that is no SVID)', () => {
    const { spiffeId: _omitted, ...withoutUri } = request();
    const leaf = new X509Certificate(signer.sign(withoutUri));
    assert.equal(leaf.subjectAltName, 'DNS:web.emojivoto.serviceaccount.identity.linkerd.cluster.local');
    assert.equal(leaf.verify(issuer.publicKey), true);
  });

  it('agrees with node:crypto and @peculiar/x509', async () => {
    const leafKey = ecKey();
    const leaf = signer.sign(request({ subjectPublicKeySpki: spki(leafKey) }));
    const node = new X509Certificate(leaf);
    assert.equal(node.subjectAltName, `DNS:${DNS}, URI:${SPIFFE}`);
    assertLinkerdSans(leaf, { dnsName: DNS, spiffeId: SPIFFE });
    assert.equal(node.ca, false);
    assert.ok(!node.subject, 'empty subject');
    assert.equal(node.checkIssued(new X509Certificate(issuer.der)), true);
    assert.equal(node.verify(issuer.publicKey), true);
    assert.equal(node.checkPrivateKey(leafKey), true);
    assert.equal(node.validFrom, 'May 31 23:59:40 2030 GMT');
    assert.equal(node.validTo, 'Jun  2 00:00:20 2030 GMT');

    const p = new x509.X509Certificate(leaf);
    assert.equal(await p.verify({ publicKey: issuer.certificate.publicKey, date: new Date(TEST_NOW) }), true);
    const san = p.getExtension(x509.SubjectAlternativeNameExtension);
    assert.equal(san?.critical, true);
    assert.deepEqual(san?.names.toJSON(), [
      { type: 'dns', value: DNS },
      { type: 'url', value: SPIFFE },
    ]);
    const bc = p.getExtension(x509.BasicConstraintsExtension);
    assert.deepEqual([bc?.ca, bc?.critical, bc?.pathLength], [false, true, undefined]);
    const ku = p.getExtension(x509.KeyUsagesExtension);
    assert.deepEqual([ku?.usages, ku?.critical], [x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true]);
    assert.deepEqual(
      [...(p.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])],
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    );
    const expectedSki = await x509.SubjectKeyIdentifierExtension.create(p.publicKey);
    assert.equal(p.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId, expectedSki.keyId);
    assert.equal(
      p.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      issuer.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
  });

  it('uses the given random serial: positive, at least 64 bits', () => {
    const serial = randomSerial();
    const node = new X509Certificate(signer.sign(request({ serial })));
    assert.equal(node.serialNumber.toLowerCase(), serial.toString('hex'));
    assert.ok(BigInt(`0x${node.serialNumber}`) >= 2n ** 64n);
    const small = new X509Certificate(signer.sign(request({ serial: Buffer.from([0x00, 0x80]) })));
    assert.equal(small.serialNumber, '80', 'a top-bit serial is padded, so it stays positive');
  });

  it('encodes validity with second precision, as UTCTime or GeneralizedTime', () => {
    const notAfter = Date.UTC(2051, 0, 2, 3, 4, 5);
    const node = new X509Certificate(signer.sign(request({ notBefore: TEST_NOW + 999, notAfter: notAfter + 999 })));
    assert.equal(Date.parse(node.validFrom), TEST_NOW);
    assert.equal(Date.parse(node.validTo), notAfter);
  });

  it('works with a P-384 issuer (ecdsa-with-SHA384) and P-384 leaf keys', async () => {
    const root384 = await createTestRoot({ curve: 'P-384' });
    const issuer384 = await createTestIntermediate({ parent: root384, curve: 'P-384' });
    const s = createLeafSigner({ certificateDer: issuer384.der, privateKey: issuer384.privateKey });
    for (const curve of ['prime256v1', 'secp384r1']) {
      const text = await opensslCheck(root384, issuer384, s.sign(request({ subjectPublicKeySpki: spki(ecKey(curve)) })), 'sslserver');
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA384/);
    }
  });

  it('derives the AKI from the issuer key when the issuer has no SKI', async () => {
    const bare = await createTestIntermediate({ parent: root, subjectKeyId: false });
    const leaf = createLeafSigner({ certificateDer: bare.der, privateKey: bare.privateKey }).sign(request());
    // -x509_strict demands an SKI on every CA, which is exactly what this issuer lacks.
    await opensslCheck(root, bare, leaf, 'sslserver', false);
    const aki = new x509.X509Certificate(leaf).getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
    const keyBits = der.readBitString(der.childrenOf(der.decode(spki(bare.privateKey)))[1]).bytes;
    assert.equal(aki, createHash('sha1').update(keyBits).digest('hex'));
  });

  it('refuses issuer keys it cannot use, naming the key type', () => {
    const cases: Array<[KeyObject, RegExp]> = [
      [newKeyPair('rsa', { modulusLength: 2048 }).privateKey, /issuer key must be an ec p-256 or p-384 private key, found rsa$/],
      [newKeyPair('ed25519').privateKey, /found ed25519$/],
      [ecKey('secp521r1'), /found ec secp521r1$/],
      [createPublicKey(issuer.privateKey), /found public key$/],
      [ecKey(), /issuer key does not match the issuer certificate/],
    ];
    for (const [privateKey, message] of cases) {
      assert.throws(
        () => createLeafSigner({ certificateDer: issuer.der, privateKey }),
        (err: unknown) => err instanceof TypeError && message.test(err.message),
      );
    }
    assert.throws(
      () => createLeafSigner({ certificateDer: Buffer.from('junk'), privateKey: issuer.privateKey }),
      (err: unknown) => isAgentError(err, 'CREDENTIALS_INVALID'),
    );
  });

  it('refuses bad requests with SIGNING_FAILED and never crashes', () => {
    const bad: Array<[string, Partial<LeafRequest>]> = [
      ['empty serial', { serial: Buffer.alloc(0) }],
      ['zero serial', { serial: Buffer.alloc(4) }],
      ['21-octet serial', { serial: Buffer.alloc(21, 1) }],
      ['20-octet serial needing a pad', { serial: Buffer.alloc(20, 0xff) }],
      ['notAfter before notBefore', { notAfter: TEST_NOW - DAY }],
      ['NaN', { notBefore: Number.NaN }],
      ['year 10000', { notAfter: Date.UTC(10000, 0, 1) }],
      ['non-ascii spiffe id', { spiffeId: 'spiffe://cluster.local/ns/é/sa/x' }],
      ['empty dns name', { dnsName: '' }],
      ['dns name with space', { dnsName: 'a b' }],
      ['empty key', { subjectPublicKeySpki: Buffer.alloc(0) }],
      ['key with trailing byte', { subjectPublicKeySpki: Buffer.concat([spki(ecKey()), Buffer.from([0])]) }],
      ['a certificate as key', { subjectPublicKeySpki: issuer.der }],
    ];
    for (const [label, overrides] of bad) {
      assert.throws(
        () => signer.sign(request(overrides)),
        (err: unknown) => isAgentError(err, 'SIGNING_FAILED'),
        label,
      );
    }
    for (let i = 0; i < 500; i++) {
      try {
        signer.sign(request({ subjectPublicKeySpki: randomBytes(1 + (i % 120)) }));
      } catch (err) {
        assert.ok(isAgentError(err, 'SIGNING_FAILED'), String(err));
      }
    }
  });

  it('signs any well-formed key info, leaving key policy to the caller', () => {
    const leaf = signer.sign(request({ subjectPublicKeySpki: spki(newKeyPair('ed25519').privateKey) }));
    assert.equal(new X509Certificate(leaf).verify(issuer.publicKey), true);
  });
});
