import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { withExplicitFalseCritical } from '../../test/support/csr-variants.js';
import { captureLogger } from '../../test/support/log-capture.js';
import {
  createTestCa,
  createTestRoot,
  EXPIRED_NOT_AFTER,
  EXPIRED_NOT_BEFORE,
  TEST_NOT_AFTER,
  TEST_NOW,
  type TestCa,
  type TestCert,
} from '../../test/support/test-ca.js';
import { isAgentError } from '../errors.js';
import { trustAnchorsFromPem, warnSkippedAnchors } from './anchor-bundle.js';
import { toPem } from './pem.js';

describe('trust-anchor bundles are read tolerantly', () => {
  let ca: TestCa;
  let expiredRoot: TestCert;
  let futureRoot: TestCert;
  /** A CERTIFICATE block whose bytes are not a certificate. */
  const garbage = toPem('CERTIFICATE', Buffer.from('not a certificate'));

  before(async () => {
    ca = await createTestCa();
    expiredRoot = await createTestRoot({ commonName: 'Old Root', notBefore: EXPIRED_NOT_BEFORE, notAfter: EXPIRED_NOT_AFTER });
    futureRoot = await createTestRoot({ commonName: 'Next Root', notBefore: TEST_NOW + 60_000 });
  });

  test('expired, non-CA and unparsable certificates are skipped with the reason; the usable roots are served', () => {
    const anchors = trustAnchorsFromPem(expiredRoot.pem + ca.nonCa.pem + garbage + ca.root.pem, '/a.crt', TEST_NOW);
    assert.deepEqual(
      anchors.certificates.map((c) => c.subject),
      ['CN=Test Root CA'],
    );
    assert.ok(anchors.bundleDer.equals(ca.root.der), 'only the usable root is in the bundle');
    assert.equal(anchors.notAfter, TEST_NOT_AFTER, 'the expired root does not set the earliest expiry');
    assert.deepEqual(anchors.skipped, [
      { index: 1, subject: 'CN=Old Root', reason: 'expired at Jan  1 00:00:00 2021 GMT' },
      { index: 2, subject: 'CN=Test Not A CA', reason: 'is not a CA' },
      { index: 3, subject: undefined, reason: 'does not parse' },
    ]);
  });

  test('a certificate OpenSSL reads but our DER rules refuse (explicit critical FALSE) is skipped, not fatal (issue 15)', () => {
    const strict = toPem('CERTIFICATE', withExplicitFalseCritical(expiredRoot.der));
    const anchors = trustAnchorsFromPem(strict + ca.root.pem, '/a.crt', TEST_NOW);
    assert.equal(anchors.certificates.length, 1);
    assert.deepEqual(anchors.skipped, [
      {
        index: 1,
        subject: 'CN=Old Root',
        reason: 'does not parse: malformed der: extension critical flag is an explicit false, which der leaves out',
      },
    ]);
  });

  test('a root that is not valid yet is kept: it becomes usable without a file change', () => {
    const anchors = trustAnchorsFromPem(ca.root.pem + futureRoot.pem, '/a.crt', TEST_NOW);
    assert.equal(anchors.certificates.length, 2);
    assert.deepEqual(anchors.skipped, []);
  });

  test('a bundle with no usable root is refused, naming every certificate and why', () => {
    assert.throws(
      () => trustAnchorsFromPem(expiredRoot.pem + ca.nonCa.pem, '/a.crt', TEST_NOW),
      (err: unknown) => {
        assert.ok(isAgentError(err, 'CREDENTIALS_INVALID'), String(err));
        assert.equal(
          err.message,
          'trust anchors /a.crt hold no usable root: certificate #1 (CN=Old Root) expired at Jan  1 00:00:00 2021 GMT; ' +
            'certificate #2 (CN=Test Not A CA) is not a CA (a bundle needs at least one current CA certificate)',
        );
        return true;
      },
    );
    assert.throws(() => trustAnchorsFromPem('no pem here\n', '/a.crt', TEST_NOW), /trust anchors \/a\.crt holds no PEM certificates/);
    assert.throws(() => trustAnchorsFromPem(garbage, '/a.crt', TEST_NOW), /no usable root: certificate #1 does not parse/);
  });

  test('one warning per skipped certificate, with its subject and reason in fields', () => {
    const log = captureLogger('debug');
    const anchors = trustAnchorsFromPem(expiredRoot.pem + ca.root.pem + ca.nonCa.pem, '/a.crt', TEST_NOW);
    warnSkippedAnchors(log.logger, '/a.crt', anchors);
    const warnings = log.entries.filter((e) => e.msg === 'trust anchor skipped');
    assert.equal(warnings.length, 2);
    assert.deepEqual(
      warnings.map((w) => [w.level, w.path, w.certificate, w.subject, w.reason]),
      [
        ['warn', '/a.crt', 1, 'CN=Old Root', 'expired at Jan  1 00:00:00 2021 GMT'],
        ['warn', '/a.crt', 3, 'CN=Test Not A CA', 'is not a CA'],
      ],
    );
  });
});
