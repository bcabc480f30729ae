import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  createTestExpiredIssuer,
  createTestForeignIssuer,
  createTestIntermediate,
  createTestLeaf,
  createTestRoot,
  TEST_NOW,
  type TestCert,
} from '../../test/support/test-ca.js';
import { isAgentError } from '../errors.js';
import { formatPretty } from './fetch-x509.js';
import { checkX509Response, splitDerCertificates } from './svid-check.js';
import type { X509SVID, X509SVIDResponse } from './workload-client.js';

const ID = 'spiffe://cluster.local/ns/default/sa/default';

let root: TestCert;
let issuer: TestCert;
let leaf: TestCert;

before(async () => {
  root = await createTestRoot();
  issuer = await createTestIntermediate({ parent: root });
  leaf = await createTestLeaf({ issuer, spiffeId: ID });
});

function svid(over: Partial<X509SVID> = {}): X509SVID {
  return {
    spiffe_id: ID,
    x509_svid: Buffer.concat([leaf.der, issuer.der]),
    x509_svid_key: leaf.privateKey.export({ type: 'pkcs8', format: 'der' }),
    bundle: root.der,
    hint: '',
    ...over,
  };
}

function response(...svids: X509SVID[]): X509SVIDResponse {
  return { svids, crl: [], federated_bundles: {} };
}

function assertRejected(res: X509SVIDResponse, expected: RegExp, now = TEST_NOW): void {
  assert.throws(
    () => checkX509Response(res, now),
    (err: unknown) => isAgentError(err, 'CREDENTIALS_INVALID') && expected.test(err.message),
  );
}

describe('splitDerCertificates', () => {
  it('splits concatenated DER, leaf first', () => {
    const certs = splitDerCertificates(Buffer.concat([leaf.der, issuer.der, root.der]));
    assert.deepEqual(
      certs.map((c) => c.fingerprint256),
      [leaf, issuer, root].map((c) => new X509Certificate(c.der).fingerprint256),
    );
  });
  it('returns nothing for nothing', () => assert.deepEqual(splitDerCertificates(Buffer.alloc(0)), []));
  it('names a truncated certificate', () =>
    assert.throws(() => splitDerCertificates(Buffer.concat([leaf.der, issuer.der.subarray(0, 50)])), /certificate #2 is truncated/));
  it('names garbage', () => assert.throws(() => splitDerCertificates(Buffer.from('hello')), /certificate #1 is not a DER SEQUENCE/));
});

describe('checkX509Response', () => {
  it('accepts a good SVID and returns its parts', () => {
    const [checked] = checkX509Response(response(svid({ hint: 'internal' })), TEST_NOW);
    assert.ok(checked);
    assert.equal(checked.spiffeId, ID);
    assert.equal(checked.hint, 'internal');
    assert.equal(checked.chain.length, 2);
    assert.equal(checked.bundle.length, 1);
  });

  it('accepts a chain that includes the root itself', () => {
    checkX509Response(response(svid({ x509_svid: Buffer.concat([leaf.der, issuer.der, root.der]) })), TEST_NOW);
  });

  it('accepts a bundle with several roots (anchor rotation)', async () => {
    const other = await createTestRoot({ commonName: 'Next Root' });
    checkX509Response(response(svid({ bundle: Buffer.concat([other.der, root.der]) })), TEST_NOW);
  });

  it('rejects an empty response', () => assertRejected(response(), /^workload response contains no svids$/));
  it('rejects an empty chain', () =>
    assertRejected(response(svid({ x509_svid: Buffer.alloc(0) })), /svid #0: x509_svid holds no certificates/));
  it('rejects a chain that does not parse', () =>
    assertRejected(response(svid({ x509_svid: Buffer.from([0x30, 0x03, 1, 2, 3]) })), /svid #0: x509_svid: certificate #1 does not parse/));
  it('rejects an empty bundle', () =>
    assertRejected(response(svid({ bundle: Buffer.alloc(0) })), /svid #0: no certificates in trust bundle/));
  it('rejects an invalid SPIFFE ID', () =>
    assertRejected(response(svid({ spiffe_id: 'spiffe://cluster.local/a//b' })), /svid #0: invalid spiffe_id/));
  it('rejects a leaf whose URI SAN is another ID', () =>
    assertRejected(
      response(svid({ spiffe_id: 'spiffe://cluster.local/ns/x/sa/y' })),
      /URI SAN is not exactly spiffe:\/\/cluster\.local\/ns\/x\/sa\/y/,
    ));
  it('rejects a missing key', () => assertRejected(response(svid({ x509_svid_key: Buffer.alloc(0) })), /svid #0: x509_svid_key is empty/));
  it('rejects a key that is not PKCS#8 DER', () =>
    assertRejected(response(svid({ x509_svid_key: Buffer.from('not a key') })), /not an unencrypted PKCS#8 DER private key/));
  it('rejects a key of another certificate', () => {
    assertRejected(
      response(svid({ x509_svid_key: issuer.privateKey.export({ type: 'pkcs8', format: 'der' }) })),
      /x509_svid_key does not match the leaf certificate/,
    );
  });
  it('rejects a chain from another trust domain', async () => {
    const foreign = await createTestForeignIssuer();
    const foreignLeaf = await createTestLeaf({ issuer: foreign.issuer, spiffeId: ID });
    assertRejected(
      response(
        svid({
          x509_svid: Buffer.concat([foreignLeaf.der, foreign.issuer.der]),
          x509_svid_key: foreignLeaf.privateKey.export({ type: 'pkcs8', format: 'der' }),
        }),
      ),
      /the chain does not verify up to any CA in the trust bundle/,
    );
  });
  it('rejects a chain missing its intermediate', () =>
    assertRejected(response(svid({ x509_svid: leaf.der })), /does not verify up to any CA/));
  it('rejects an expired intermediate', async () => {
    const expired = await createTestExpiredIssuer({ parent: root });
    const oldLeaf = await createTestLeaf({ issuer: expired, spiffeId: ID });
    assertRejected(
      response(
        svid({
          x509_svid: Buffer.concat([oldLeaf.der, expired.der]),
          x509_svid_key: oldLeaf.privateKey.export({ type: 'pkcs8', format: 'der' }),
        }),
      ),
      /intermediate #1 expired at/,
    );
  });
  it('rejects a leaf used before its notBefore', () =>
    assertRejected(response(svid()), /the leaf certificate is not valid before/, Date.UTC(2000, 0, 1)));
  it('names the failing SVID by index', () => assertRejected(response(svid(), svid({ bundle: Buffer.alloc(0) })), /^svid #1: /));
  it('rejects an empty federated bundle', () => {
    assertRejected(
      { svids: [svid()], crl: [], federated_bundles: { 'spiffe://other.org': Buffer.alloc(0) } },
      /federated bundle spiffe:\/\/other\.org holds no certificates/,
    );
  });
});

describe('output', () => {
  it('pretty output follows spire-agent and holds no key material', () => {
    const checked = checkX509Response(response(svid()), TEST_NOW);
    const text = formatPretty(checked, 12.3456);
    const key = leaf.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    assert.match(text, /^Received 1 svid after 12\.346ms\n\nSPIFFE ID:\t\tspiffe:\/\/cluster\.local\/ns\/default\/sa\/default\n/);
    assert.match(text, /\nSVID Valid After:\t2025-01-01 00:00:00 \+0000 UTC\nSVID Valid Until:\t2045-01-01 00:00:00 \+0000 UTC\n/);
    assert.match(text, /\nIntermediate #1 Valid After:\t2025-01-01 00:00:00 \+0000 UTC\n/);
    assert.match(text, /\nCA #1 Valid Until:\t2045-01-01 00:00:00 \+0000 UTC\n/);
    assert.ok(!text.includes(key.slice(0, 40)));
    assert.ok(!text.includes('PRIVATE KEY'));
  });
});
