import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { withExplicitFalseCritical } from '../../test/support/csr-variants.js';
import { createTestIntermediate, createTestLeaf, createTestRoot, TEST_NOT_AFTER, TEST_NOT_BEFORE } from '../../test/support/test-ca.js';
import { describeError, isAgentError } from '../errors.js';
import { MAX_CERTIFICATE_BYTES, readCertificateInfo } from './cert-info.js';
import * as der from './der.js';

function ski(cert: x509.X509Certificate): string | undefined {
  return cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
}

describe('readCertificateInfo', () => {
  it('reads the raw names, key, key ids, serial and validity of @peculiar/x509 certificates', async () => {
    const root = await createTestRoot();
    const issuer = await createTestIntermediate({ parent: root });
    const leaf = await createTestLeaf({ issuer });
    const r = readCertificateInfo(root.der);
    const i = readCertificateInfo(issuer.der);
    const l = readCertificateInfo(leaf.der);

    assert.deepEqual(r.subjectDer, Buffer.from(root.certificate.subjectName.toArrayBuffer()));
    assert.deepEqual(r.issuerDer, r.subjectDer, 'self-signed');
    assert.deepEqual(i.issuerDer, r.subjectDer);
    assert.deepEqual(l.issuerDer, i.subjectDer);
    assert.deepEqual(l.subjectDer, Buffer.from('3000', 'hex'), 'empty subject');
    assert.deepEqual(i.spkiDer, issuer.publicKey.export({ type: 'spki', format: 'der' }));
    assert.equal(r.subjectKeyId?.toString('hex'), ski(root.certificate));
    assert.equal(i.subjectKeyId?.toString('hex'), ski(issuer.certificate));
    assert.deepEqual(i.authorityKeyId, r.subjectKeyId);
    assert.deepEqual(l.authorityKeyId, i.subjectKeyId);
    assert.equal(r.authorityKeyId, undefined);
    assert.equal(i.serial, issuer.certificate.serialNumber.toLowerCase());
    assert.equal(i.notBefore, TEST_NOT_BEFORE);
    assert.equal(i.notAfter, TEST_NOT_AFTER);
    assert.equal(i.x509.subject, 'CN=Test Issuer CA');
  });

  it('reads GeneralizedTime validity and certificates without key identifiers', async () => {
    const notAfter = Date.UTC(2061, 6, 15, 10, 20, 30);
    const root = await createTestRoot({ notBefore: Date.UTC(1999, 11, 31, 23, 59, 59), notAfter });
    const issuer = await createTestIntermediate({ parent: root, subjectKeyId: false, notAfter });
    const i = readCertificateInfo(issuer.der);
    assert.equal(i.subjectKeyId, undefined);
    assert.equal(i.notAfter, notAfter);
    assert.equal(readCertificateInfo(root.der).notBefore, Date.UTC(1999, 11, 31, 23, 59, 59));
  });

  it('refuses a certificate that breaks the DER rules OpenSSL lets through (issue 15)', async () => {
    const root = await createTestRoot();
    const rebuilt = withExplicitFalseCritical(root.der);
    assert.doesNotThrow(() => new X509Certificate(rebuilt), 'openssl accepts it');
    assert.throws(
      () => readCertificateInfo(rebuilt),
      (err: unknown) =>
        isAgentError(err, 'CREDENTIALS_INVALID') &&
        describeError(err) ===
          'certificate does not parse: malformed der: extension critical flag is an explicit false, which der leaves out',
    );
  });

  it('refuses a certificate over 64 KiB before parsing it', () => {
    assert.throws(
      () => readCertificateInfo(der.sequence(Buffer.alloc(MAX_CERTIFICATE_BYTES))),
      (err: unknown) => isAgentError(err, 'CREDENTIALS_INVALID') && (err as Error).message === 'certificate is larger than 65536 bytes',
    );
  });

  it('refuses what is not a certificate', async () => {
    const root = await createTestRoot();
    const cases = [Buffer.alloc(0), Buffer.from('garbage'), root.der.subarray(0, 100), Buffer.concat([root.der, Buffer.from([0])])];
    for (const input of cases) {
      assert.throws(
        () => readCertificateInfo(input),
        (err: unknown) => isAgentError(err, 'CREDENTIALS_INVALID') && (err as Error).message === 'certificate does not parse',
      );
    }
  });
});
