import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createTestCa, createTestIntermediate, createTestRoot, TEST_NOT_AFTER, TEST_NOW, type TestCa } from '../../test/support/test-ca.js';
import { isAgentError } from '../errors.js';
import { loadIssuer, loadTrustAnchors } from './credentials.js';
import { newKeyPair } from './keygen.js';

/** An in-memory filesystem for the loaders. */
function files(map: Record<string, string>) {
  return async (path: string) => {
    const text = map[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.from(text);
  };
}

const refused = (pattern: RegExp) => (err: unknown) => {
  assert.ok(isAgentError(err, 'CREDENTIALS_INVALID'), String(err));
  assert.match(err.message, pattern);
  return true;
};

describe('trust anchors', () => {
  let ca: TestCa;
  before(async () => {
    ca = await createTestCa();
  });

  test('a bundle of several roots is served whole', async () => {
    const anchors = await loadTrustAnchors('/a.crt', { now: TEST_NOW, readFile: files({ '/a.crt': ca.root.pem + ca.foreignRoot.pem }) });
    assert.equal(anchors.certificates.length, 2);
    assert.ok(anchors.bundleDer.equals(Buffer.concat([ca.root.der, ca.foreignRoot.der])));
  });

  test('a non-CA next to a root is skipped, not fatal (details in anchor-bundle.test.ts)', async () => {
    const anchors = await loadTrustAnchors('/a.crt', { now: TEST_NOW, readFile: files({ '/a.crt': ca.root.pem + ca.nonCa.pem }) });
    assert.ok(anchors.bundleDer.equals(ca.root.der));
    assert.deepEqual(anchors.skipped, [{ index: 2, subject: 'CN=Test Not A CA', reason: 'is not a CA' }]);
  });

  test('each unusable bundle is refused with a message saying why', async () => {
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['missing file', undefined, /cannot read trust anchors \/a\.crt: ENOENT/],
      ['no certificates', 'hello\n', /holds no PEM certificates/],
      [
        'broken PEM',
        '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        /certificate #1 does not parse|holds no PEM certificates/,
      ],
      ['only a non-CA', ca.nonCa.pem, /no usable root: certificate #1 \(CN=Test Not A CA\) is not a CA/],
      ['only an expired CA', ca.expiredIssuer.pem, /no usable root: certificate #1 \(CN=Test Expired Issuer CA\) expired at/],
    ];
    for (const [name, text, pattern] of cases) {
      const fs = files(text === undefined ? {} : { '/a.crt': text });
      await assert.rejects(loadTrustAnchors('/a.crt', { now: TEST_NOW, readFile: fs }), refused(pattern), name);
    }
  });
});

describe('issuer credentials', () => {
  let ca: TestCa;
  let anchors: Awaited<ReturnType<typeof loadTrustAnchors>>;
  before(async () => {
    ca = await createTestCa();
    anchors = await loadTrustAnchors('/a.crt', { now: TEST_NOW, readFile: files({ '/a.crt': ca.root.pem }) });
  });
  const load = (map: Record<string, string>) => loadIssuer('/issuer', anchors, { now: TEST_NOW, readFile: files(map) });

  test('loads both Linkerd layouts', async () => {
    const k8s = await load({ '/issuer/tls.crt': ca.intermediate.pem, '/issuer/tls.key': ca.intermediate.privateKeyPem });
    assert.equal(k8s.certificatePath, '/issuer/tls.crt');
    const linkerd = await load({ '/issuer/crt.pem': ca.intermediate.pem, '/issuer/key.pem': ca.intermediate.privateKeyPem });
    assert.equal(linkerd.certificatePath, '/issuer/crt.pem');
    assert.equal(linkerd.notAfter, TEST_NOT_AFTER);
    assert.deepEqual(linkerd.chainDer, [ca.intermediate.der]);
  });

  test('a SEC1 "EC PRIVATE KEY" works as well as PKCS#8', async () => {
    const sec1 = ca.intermediate.privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    await load({ '/issuer/tls.crt': ca.intermediate.pem, '/issuer/tls.key': sec1 });
  });

  test('an issuer under a further intermediate chains through its file; leaves never outlive the chain', async () => {
    const mid = await createTestIntermediate({ parent: ca.root, commonName: 'Mid', notAfter: Date.UTC(2040, 0, 1) });
    const issuer = await createTestIntermediate({ parent: mid, commonName: 'Issuer' });
    const loaded = await load({ '/issuer/tls.crt': issuer.pem + mid.pem, '/issuer/tls.key': issuer.privateKeyPem });
    assert.deepEqual(loaded.chainDer, [issuer.der, mid.der]);
    assert.equal(loaded.notAfter, Date.UTC(2040, 0, 1));
  });

  test('the root itself as issuer (linkerd install without --identity-external-issuer)', async () => {
    await load({ '/issuer/tls.crt': ca.root.pem, '/issuer/tls.key': ca.root.privateKeyPem });
  });

  test('each unusable issuer is refused with a message saying exactly why', async () => {
    const rsa = newKeyPair('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const otherKey = (await createTestRoot()).privateKeyPem;
    const ok = { '/issuer/tls.crt': ca.intermediate.pem, '/issuer/tls.key': ca.intermediate.privateKeyPem };
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['empty directory', {}, /issuer directory \/issuer holds neither tls\.crt\+tls\.key nor crt\.pem\+key\.pem/],
      ['certificate without key', { '/issuer/tls.crt': ca.intermediate.pem }, /found only tls\.crt/],
      [
        'broken key PEM',
        { ...ok, '/issuer/tls.key': '-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n' },
        /issuer key \/issuer\/tls\.key is not a PEM private key/,
      ],
      ['RSA key', { ...ok, '/issuer/tls.key': rsa }, /must be ECDSA P-256 or P-384, found rsa/],
      ['broken certificate PEM', { ...ok, '/issuer/tls.crt': 'garbage' }, /holds no PEM certificates/],
      ['not a CA', { '/issuer/tls.crt': ca.nonCa.pem, '/issuer/tls.key': ca.nonCa.privateKeyPem }, /is not a CA/],
      ['expired', { '/issuer/tls.crt': ca.expiredIssuer.pem, '/issuer/tls.key': ca.expiredIssuer.privateKeyPem }, /expired at/],
      ['key does not match', { ...ok, '/issuer/tls.key': otherKey }, /issuer key \/issuer\/tls\.key does not match issuer certificate/],
      [
        'foreign root',
        { '/issuer/tls.crt': ca.foreignIssuer.pem, '/issuer/tls.key': ca.foreignIssuer.privateKeyPem },
        /does not chain to the trust anchors/,
      ],
    ];
    for (const [name, map, pattern] of cases) await assert.rejects(load(map), refused(pattern), name);
  });

  test('not yet valid is refused', async () => {
    const future = await createTestIntermediate({ parent: ca.root, notBefore: Date.UTC(2035, 0, 1) });
    await assert.rejects(load({ '/issuer/tls.crt': future.pem, '/issuer/tls.key': future.privateKeyPem }), refused(/is not valid before/));
  });
});
