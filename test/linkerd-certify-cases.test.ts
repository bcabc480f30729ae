/**
 * Linkerd's own tests of Certify, translated case by case into a table run against our public
 * API (`createCertifier`, statuses through `certifyStatus`) with a fake TokenValidator:
 * - linkerd2 `pkg/identity/service_test.go`: `TestServiceNotReady`, `TestInvalidRequestArguments`;
 * - linkerd2 `pkg/tls/ca_test.go`: `TestCaIssuesCertsWithCorrectExpiration`.
 * Same inputs and status codes; where Linkerd's text is Go's own (an ASN.1 parse error) we match
 * the code and the gist. The rows after them are where we differ on purpose, each with its reason
 * in docs/decisions.md, "Certify compared with Linkerd".
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import {
  type CertifyRequest,
  certifyStatus,
  createCertifier,
  createCsr,
  type IssuerCredentials,
  loadIssuer,
  loadTrustAnchors,
  newKeyPair,
} from '../src/issuer/index.js';
import { silentLogger } from '../src/log.js';
import type { TokenValidator } from '../src/token-validator.js';
import { createValueChannel } from '../src/value-channel.js';
import { createTestRoot, TEST_NOW } from './support/test-ca.js';

const HOUR = 3_600_000;
/** Linkerd's `DefaultClockSkewAllowance` (pkg/tls/ca.go); ours defaults to 20 s, these cases use 10 s. */
const LINKERD_SKEW_MS = 10_000;
const NAMING = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
/** The identity the fake validator proves: Linkerd's fakeValidator returns one fixed result too. */
const IDENTITY = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';

/** Linkerd's `fakeValidator{"successful-result", nil}`: every token proves the same account. */
function fakeValidator(): TokenValidator & { calls: number } {
  const v = {
    calls: 0,
    async validate() {
      v.calls += 1;
      return {
        account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
        audiences: ['identity.l5d.io'],
        podUid: '2d7e1c5a-8f3b-4e6d-9c1a-5b0f7e2d4a86',
      };
    },
  };
  return v;
}

/**
 * Linkerd's `getCa`: a root made with `Validity{ValidFrom, Lifetime}`, i.e. valid from
 * `validFrom - skew` to `validFrom + lifetime + skew` (`Validity.Window`), used as the issuer.
 */
async function linkerdStyleIssuer(validFrom: number, lifetimeMs: number): Promise<IssuerCredentials> {
  const root = await createTestRoot({
    commonName: 'fake-name',
    notBefore: validFrom - LINKERD_SKEW_MS,
    notAfter: validFrom + lifetimeMs + LINKERD_SKEW_MS,
  });
  const files: Record<string, string> = { '/roots.pem': root.pem, '/issuer/tls.crt': root.pem, '/issuer/tls.key': root.privateKeyPem };
  const readFile = async (path: string) => Buffer.from(files[path] ?? '');
  const anchors = await loadTrustAnchors('/roots.pem', { now: validFrom, readFile });
  return loadIssuer('/issuer', anchors, { now: validFrom, readFile });
}

function certifierFor(issuer: IssuerCredentials | undefined, o: { now: number; lifetimeMs?: number; validator?: TokenValidator }) {
  return createCertifier({
    issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
    validator: o.validator ?? fakeValidator(),
    naming: NAMING,
    clock: { now: () => o.now },
    lifetimeMs: o.lifetimeMs ?? 24 * HOUR,
    clockSkewMs: LINKERD_SKEW_MS,
    logger: silentLogger(),
  });
}

/** Linkerd's `GenerateEndEntityCred` CSR: CN and the one DNS SAN are the name. */
function endEntityCsr(name = IDENTITY): Buffer {
  return createCsr({ privateKey: newKeyPair('ec', { namedCurve: 'P-256' }).privateKey, commonName: name, dnsNames: [name] });
}

async function statusOf(run: Promise<unknown>, identity: string): Promise<{ code: status; details: string }> {
  try {
    await run;
  } catch (err) {
    return certifyStatus(err, identity);
  }
  assert.fail('expected Certify to fail');
}

describe("Linkerd's pkg/identity/service_test.go", () => {
  let issuer: IssuerCredentials;
  before(async () => {
    issuer = await linkerdStyleIssuer(TEST_NOW, 48 * HOUR);
  });

  const fake = new TextEncoder().encode('fake-data');
  // TestInvalidRequestArguments' invalidCsr(): every field "fake-data", then one emptied.
  const invalidCsr = (over: Partial<CertifyRequest> = {}): CertifyRequest => ({
    identity: 'fake-data',
    token: 'fake-data',
    csr: fake,
    ...over,
  });
  const cases: Array<{ name: string; issuerLoaded: boolean; request: CertifyRequest; code: status; details: RegExp }> = [
    {
      name: 'TestServiceNotReady',
      issuerLoaded: false,
      request: { identity: 'some-identity', token: '', csr: new Uint8Array() },
      code: status.UNAVAILABLE,
      details: /^cert issuer not ready yet$/,
    },
    {
      name: 'TestInvalidRequestArguments: reqNoIdentity',
      issuerLoaded: true,
      request: invalidCsr({ identity: '' }),
      code: status.INVALID_ARGUMENT,
      details: /^missing identity$/,
    },
    {
      name: 'TestInvalidRequestArguments: reqNoToken',
      issuerLoaded: true,
      request: invalidCsr({ token: '' }),
      code: status.INVALID_ARGUMENT,
      details: /^missing token$/,
    },
    {
      name: 'TestInvalidRequestArguments: reqNoCsr',
      issuerLoaded: true,
      request: invalidCsr({ csr: new Uint8Array() }),
      code: status.INVALID_ARGUMENT,
      details: /^missing certificate signing request$/,
    },
    {
      // Linkerd's text is Go's `asn1: structure error: tags don't match ...`; ours names the CSR.
      name: 'TestInvalidRequestArguments: invalidCsr()',
      issuerLoaded: true,
      request: invalidCsr(),
      code: status.INVALID_ARGUMENT,
      details: /^certificate signing request does not parse$/,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const validator = fakeValidator();
      const certifier = certifierFor(c.issuerLoaded ? issuer : undefined, { now: TEST_NOW, validator });
      const st = await statusOf(certifier.certify(c.request), c.request.identity);
      assert.equal(st.code, c.code, `${status[st.code]}: ${st.details}`);
      assert.match(st.details, c.details);
      assert.equal(validator.calls, 0, 'rejected before the token is validated, as in Linkerd');
    });
  }
});

describe("Linkerd's pkg/tls/ca_test.go TestCaIssuesCertsWithCorrectExpiration", () => {
  const validFrom = TEST_NOW;
  const cases = [
    {
      desc: 'issuer cert expires after end cert',
      issuerLifetime: 48 * HOUR,
      endCertLifetime: 24 * HOUR,
      expectedCertExpiration: validFrom + 24 * HOUR + LINKERD_SKEW_MS,
    },
    {
      desc: 'issuer cert expires before end cert',
      issuerLifetime: 10 * HOUR,
      endCertLifetime: 24 * HOUR,
      expectedCertExpiration: validFrom + 10 * HOUR + LINKERD_SKEW_MS,
    },
  ];
  for (const tc of cases) {
    test(tc.desc, async () => {
      const issuer = await linkerdStyleIssuer(validFrom, tc.issuerLifetime);
      const certifier = certifierFor(issuer, { now: validFrom, lifetimeMs: tc.endCertLifetime });
      const out = await certifier.certify({ identity: IDENTITY, token: 'fake-data', csr: endEntityCsr() });
      const leaf = new X509Certificate(out.leaf);
      assert.equal(Date.parse(leaf.validTo), tc.expectedCertExpiration);
      assert.equal(out.validUntil, tc.expectedCertExpiration);
      // Validity.Window: notBefore is validFrom minus the skew allowance.
      assert.equal(Date.parse(leaf.validFrom), validFrom - LINKERD_SKEW_MS);
    });
  }
});

describe('where we differ from Linkerd on purpose', () => {
  test('an issuer that no longer verifies (chain expired): UNAVAILABLE, not a plain error, and no TokenReview', async () => {
    // Linkerd: ensureIssuerStillValid fails and Certify returns the Go error (gRPC Unknown).
    const issuer = await linkerdStyleIssuer(TEST_NOW, 10 * HOUR);
    const validator = fakeValidator();
    const certifier = certifierFor(issuer, { now: TEST_NOW + 11 * HOUR, validator });
    const st = await statusOf(certifier.certify({ identity: IDENTITY, token: 'fake-data', csr: endEntityCsr() }), IDENTITY);
    assert.equal(st.code, status.UNAVAILABLE);
    assert.equal(st.details, `cert issuer is not valid: its chain expired at ${new Date(issuer.notAfter).toISOString()}`);
    assert.equal(validator.calls, 0);
  });

  test('a CSR whose signature does not verify is refused (Linkerd signs it)', async () => {
    const issuer = await linkerdStyleIssuer(TEST_NOW, 48 * HOUR);
    const csr = endEntityCsr();
    csr.writeUInt8((csr.at(-5) as number) ^ 0xff, csr.length - 5);
    const st = await statusOf(certifierFor(issuer, { now: TEST_NOW }).certify({ identity: IDENTITY, token: 'fake-data', csr }), IDENTITY);
    assert.equal(st.code, status.FAILED_PRECONDITION);
    assert.match(st.details, /signature does not verify/);
  });

  test('serials are random and at least 64 bits (Linkerd counts 1, 2, 3 from each start)', async () => {
    const issuer = await linkerdStyleIssuer(TEST_NOW, 48 * HOUR);
    const certifier = certifierFor(issuer, { now: TEST_NOW });
    const serials: string[] = [];
    for (let i = 0; i < 3; i++) {
      const out = await certifier.certify({ identity: IDENTITY, token: 'fake-data', csr: endEntityCsr() });
      serials.push(new X509Certificate(out.leaf).serialNumber.replace(/^0+/, ''));
    }
    assert.equal(new Set(serials).size, 3);
    for (const serial of serials) assert.ok(serial.length >= 16, `serial ${serial} has at least 64 bits`);
  });
});
