import assert from 'node:assert/strict';
import { createPublicKey, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { csrWithSpki, ecSpki, explicitParametersKey } from '../../test/support/csr-variants.js';
import { opensslOk, withTempDir } from '../../test/support/openssl.js';
import { assertLinkerdSans } from '../../test/support/san-order.js';
import { createTestCa, TEST_NOW, type TestCa } from '../../test/support/test-ca.js';
import { AgentError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { TokenValidator } from '../token-validator.js';
import { createValueChannel } from '../value-channel.js';
import { type Certifier, type CertifierOptions, createCertifier } from './certify.js';
import { certifyStatus } from './certify-status.js';
import { type IssuerCredentials, loadIssuer, loadTrustAnchors } from './credentials.js';
import { createCsr } from './csr.js';
import { newKeyPair } from './keygen.js';

const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const SPIFFE = 'spiffe://cluster.local/ns/emojivoto/sa/web';
const HOUR = 3_600_000;
const POD_UID = '4c1f9e2b-7a3d-4b5e-8f6a-1d2c3b4a5e6f';

/** Tokens are account names: `ns/sa`; a few magic tokens fail the way TokenReview can. */
const validator: TokenValidator = {
  async validate(token) {
    if (token === 'unauthenticated') throw new AgentError('TOKEN_NOT_AUTHENTICATED', 'authentication token could not be authenticated');
    if (token === 'invalid') throw new AgentError('TOKEN_INVALID', 'Username must be in form system:TYPE:NS:SA: alice');
    if (token === 'api-down') throw new AgentError('TOKEN_REVIEW_FAILED', 'connect ECONNREFUSED');
    if (token === 'unbound')
      return { account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' }, audiences: ['identity.l5d.io'] };
    const [namespace, name] = token.split('/') as [string, string];
    return { account: { type: 'serviceaccount', namespace, name }, audiences: ['identity.l5d.io'], podUid: POD_UID };
  },
};

const key = () => newKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
const dnsCsr = (o: { cn?: string; dns?: string[]; uris?: string[] } = {}) =>
  createCsr({ privateKey: key(), commonName: o.cn ?? DNS, dnsNames: o.dns ?? [DNS], uris: o.uris });

describe('Certify', () => {
  let ca: TestCa;
  let issuer: IssuerCredentials;
  let certifier: Certifier;
  const certify = (identity: string, token: string, csr: Uint8Array) => certifier.certify({ identity, token, csr });
  /** A certifier of the test issuer at TEST_NOW, 1 h leaves, no skew, with `overrides`. */
  const certifierWith = (overrides: Partial<CertifierOptions> = {}) =>
    createCertifier({
      issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
      validator,
      naming,
      clock: { now: () => TEST_NOW },
      lifetimeMs: HOUR,
      clockSkewMs: 0,
      logger: silentLogger(),
      ...overrides,
    });

  before(async () => {
    ca = await createTestCa();
    const read = async (p: string) =>
      Buffer.from(
        ({ '/a': ca.root.pem, '/i/tls.crt': ca.intermediate.pem, '/i/tls.key': ca.intermediate.privateKeyPem } as Record<string, string>)[
          p
        ] ?? '',
      );
    const anchors = await loadTrustAnchors('/a', { now: TEST_NOW, readFile: read });
    issuer = await loadIssuer('/i', anchors, { now: TEST_NOW, readFile: read });
    certifier = createCertifier({
      issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
      validator,
      naming,
      clock: { now: () => TEST_NOW },
      lifetimeMs: 24 * HOUR,
      clockSkewMs: 20_000,
      logger: silentLogger(),
    });
  });

  test('DNS form: the leaf has the DNS name first, then the SPIFFE URI, backdated by the skew', async () => {
    const out = await certify(DNS, 'emojivoto/web', dnsCsr());
    const leaf = new X509Certificate(out.leaf);
    assertLinkerdSans(out.leaf, { dnsName: DNS, spiffeId: SPIFFE });
    assert.ok(leaf.verify(ca.intermediate.publicKey));
    assert.equal(Date.parse(leaf.validFrom), TEST_NOW - 20_000);
    assert.equal(out.validUntil, TEST_NOW + 24 * HOUR + 20_000);
    assert.deepEqual(out.intermediates, [ca.intermediate.der]);
  });

  test('SPIFFE form: the CSR names are ignored', async () => {
    const csr = createCsr({ privateKey: key(), commonName: 'whatever', dnsNames: ['a.b', 'c.d'], uris: ['spiffe://evil/x'] });
    assertLinkerdSans((await certify(SPIFFE, 'emojivoto/web', csr)).leaf, { dnsName: DNS, spiffeId: SPIFFE });
  });

  test('expiry is clamped to the issuer chain', async () => {
    const late = createCertifier({
      issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
      validator,
      naming,
      clock: { now: () => issuer.notAfter - HOUR },
      lifetimeMs: 24 * HOUR,
      clockSkewMs: 0,
      logger: silentLogger(),
    });
    const out = await late.certify({ identity: DNS, token: 'emojivoto/web', csr: dnsCsr() });
    assert.equal(out.validUntil, issuer.notAfter);
  });

  test('the whole status table, in Linkerd order', async () => {
    const notReady = certifierWith({ issuer: createValueChannel<IssuerCredentials | undefined>(undefined).receiver });
    const badSignature = Buffer.from(dnsCsr());
    badSignature.writeUInt8((badSignature.at(-5) as number) ^ 0xff, badSignature.length - 5);
    const cases: Array<[string, () => Promise<unknown>, status, RegExp]> = [
      [
        'issuer not loaded',
        () => notReady.certify({ identity: DNS, token: 'x', csr: dnsCsr() }),
        status.UNAVAILABLE,
        /^cert issuer not ready yet$/,
      ],
      ['missing identity', () => certify('', 'emojivoto/web', dnsCsr()), status.INVALID_ARGUMENT, /^missing identity$/],
      ['missing token', () => certify(DNS, '', dnsCsr()), status.INVALID_ARGUMENT, /^missing token$/],
      [
        'an identity longer than a SPIFFE ID may be',
        () => certify(`spiffe://cluster.local/${'a'.repeat(2048)}`, 'emojivoto/web', dnsCsr()),
        status.INVALID_ARGUMENT,
        /^identity is longer than 2048 characters$/,
      ],
      [
        'missing CSR',
        () => certify(DNS, 'emojivoto/web', new Uint8Array()),
        status.INVALID_ARGUMENT,
        /^missing certificate signing request$/,
      ],
      ['random bytes as CSR', () => certify(DNS, 'emojivoto/web', randomBytes(300)), status.INVALID_ARGUMENT, /does not parse/],
      [
        'two DNS names',
        () => certify(DNS, 'emojivoto/web', dnsCsr({ dns: [DNS, 'x.y'] })),
        status.FAILED_PRECONDITION,
        /exactly one DNSName/,
      ],
      [
        'other DNS name',
        () => certify(DNS, 'emojivoto/web', dnsCsr({ dns: ['x.y'], cn: '' })),
        status.FAILED_PRECONDITION,
        /CSR name does not match requested identity/,
      ],
      ['other CN', () => certify(DNS, 'emojivoto/web', dnsCsr({ cn: 'admin' })), status.FAILED_PRECONDITION, /invalid CommonName: admin/],
      [
        'URI SAN in DNS form',
        () => certify(DNS, 'emojivoto/web', dnsCsr({ uris: [SPIFFE] })),
        status.FAILED_PRECONDITION,
        /cannot validate URIs/,
      ],
      [
        'signature does not verify',
        () => certify(DNS, 'emojivoto/web', badSignature),
        status.FAILED_PRECONDITION,
        /signature does not verify/,
      ],
      [
        'signature does not verify (SPIFFE form)',
        () => certify(SPIFFE, 'emojivoto/web', badSignature),
        status.FAILED_PRECONDITION,
        /signature does not verify/,
      ],
      [
        'token not authenticated',
        () => certify(DNS, 'unauthenticated', dnsCsr()),
        status.FAILED_PRECONDITION,
        /^authentication token could not be authenticated$/,
      ],
      ['invalid token', () => certify(DNS, 'invalid', dnsCsr()), status.INVALID_ARGUMENT, /Username must be in form/],
      ['API error', () => certify(DNS, 'api-down', dnsCsr()), status.INTERNAL, /^error validating token for /],
      [
        'a token bound to no pod (stricter than Linkerd)',
        () => certify(DNS, 'unbound', dnsCsr()),
        status.INVALID_ARGUMENT,
        /^token is not bound to a pod: a projected service-account token is required$/,
      ],
      [
        'identity of another account',
        () => certify(DNS, 'emojivoto/admin', dnsCsr()),
        status.FAILED_PRECONDITION,
        /requested identity did not match provided token: requested=web\..*; found=admin\./,
      ],
      [
        'SPIFFE identity of another account',
        () => certify(SPIFFE, 'other/web', dnsCsr()),
        status.FAILED_PRECONDITION,
        /requested identity did not match/,
      ],
    ];
    for (const [name, run, code, details] of cases) {
      await assert.rejects(
        run(),
        (err: unknown) => {
          const st = certifyStatus(err, DNS);
          assert.equal(st.code, code, `${name}: ${String(err)}`);
          assert.match(st.details, details, name);
          return true;
        },
        name,
      );
    }
  });

  test('a CSR key that is not ECDSA P-256/P-384 passes the rules and fails signing (INTERNAL)', async () => {
    const csr = await withTempDir(async (dir) => {
      const keyPath = join(dir.path, 'rsa.key');
      const csrPath = join(dir.path, 'rsa.csr');
      opensslOk(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', keyPath]);
      opensslOk([
        'req',
        '-new',
        '-key',
        keyPath,
        '-subj',
        `/CN=${DNS}`,
        '-addext',
        `subjectAltName=DNS:${DNS}`,
        '-outform',
        'DER',
        '-out',
        csrPath,
      ]);
      return readFileSync(csrPath);
    });
    await assert.rejects(certify(DNS, 'emojivoto/web', csr), (err: unknown) => {
      const st = certifyStatus(err, DNS);
      assert.equal(st.code, status.INTERNAL);
      assert.match(st.details, /CSR must contain an ECDSA P-256 or P-384 public key, found rsa/);
      return true;
    });
  });

  test('issue 15: a compressed CSR key is signed uncompressed; explicit curve parameters are refused before the token', async () => {
    const privateKey = key();
    const out = await certify(DNS, 'emojivoto/web', csrWithSpki(privateKey, ecSpki(privateKey, 'compressed'), [DNS]));
    const leafKey = new X509Certificate(out.leaf).publicKey.export({ type: 'spki', format: 'der' });
    assert.deepEqual(leafKey, ecSpki(privateKey, 'uncompressed'));
    const explicit = explicitParametersKey();
    const explicitSpki = createPublicKey(explicit).export({ type: 'spki', format: 'der' });
    // 'api-down' would fail INTERNAL if the token were checked: the CSR is refused first.
    await assert.rejects(certify(DNS, 'api-down', csrWithSpki(explicit, explicitSpki, [DNS])), (err: unknown) => {
      const st = certifyStatus(err, DNS);
      assert.equal(st.code, status.FAILED_PRECONDITION);
      assert.equal(st.details, 'CSR public key must name its curve; explicit EC parameters are not supported');
      return true;
    });
  });

  test("the reserved identity (the central issuer's own name) is refused in both forms, even for its own account", async () => {
    const own = 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local';
    const reserving = certifierWith({ reserved: { dnsName: own, spiffeId: 'spiffe://cluster.local/ns/linkerd/sa/linkerd-identity' } });
    for (const identity of [own, 'spiffe://cluster.local/ns/linkerd/sa/linkerd-identity']) {
      const csr = createCsr({ privateKey: key(), dnsNames: [own] });
      await assert.rejects(reserving.certify({ identity, token: 'linkerd/linkerd-identity', csr }), (err: unknown) => {
        assert.deepEqual(certifyStatus(err, identity), {
          code: status.PERMISSION_DENIED,
          details: 'the issuer does not sign its own server name for anyone else',
        });
        return true;
      });
    }
    await reserving.certify({ identity: DNS, token: 'emojivoto/web', csr: dnsCsr() });
  });

  test('serials are random, positive and distinct', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) serials.add((await certify(SPIFFE, 'emojivoto/web', dnsCsr())).serialHex);
    assert.equal(serials.size, 20);
  });
});
