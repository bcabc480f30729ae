/**
 * An in-memory test CA built on @peculiar/x509, an encoder independent of `src/issuer/der.ts`, so
 * tests check our certificates against someone else's and not only against ourselves
 * (SPIRE's test/testca plays the same role). Every certificate has fixed dates, so results do not
 * depend on the day the tests run: pass {@link TEST_NOW} as `now`, and `-attime` to openssl.
 */
import 'reflect-metadata';
import { KeyObject, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** Start of validity of every good test certificate: 2025-01-01T00:00:00Z. */
export const TEST_NOT_BEFORE = Date.UTC(2025, 0, 1);
/** End of validity of every good test certificate: 2045-01-01T00:00:00Z. */
export const TEST_NOT_AFTER = Date.UTC(2045, 0, 1);
/** A moment inside every good test certificate's validity (2030-06-01T00:00:00Z); use it as `now`. */
export const TEST_NOW = Date.UTC(2030, 5, 1);
/** {@link TEST_NOW} in seconds, for `openssl verify -attime`. */
export const TEST_NOW_SECONDS = TEST_NOW / 1000;

/** Start of validity of {@link createTestExpiredIssuer}: 2020-01-01. */
export const EXPIRED_NOT_BEFORE = Date.UTC(2020, 0, 1);
/** End of validity of {@link createTestExpiredIssuer}: 2021-01-01. */
export const EXPIRED_NOT_AFTER = Date.UTC(2021, 0, 1);

/** Curves the test CA makes keys on (signing with SHA-256 and SHA-384 respectively). */
export type TestCurve = 'P-256' | 'P-384';

/** A test certificate and its key in every form tests need. */
export interface TestCert {
  readonly certificate: x509.X509Certificate;
  readonly der: Buffer;
  readonly pem: string;
  /** The WebCrypto pair @peculiar/x509 signs with. */
  readonly keys: webcrypto.CryptoKeyPair;
  readonly privateKey: KeyObject;
  /** Unencrypted PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly publicKey: KeyObject;
}

interface Validity {
  /** ms since the epoch; default {@link TEST_NOT_BEFORE} */
  readonly notBefore?: number;
  /** ms since the epoch; default {@link TEST_NOT_AFTER} */
  readonly notAfter?: number;
}

const subtle = webcrypto.subtle;
const HASH: Record<TestCurve, string> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' };
const CA_USAGES = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
let serialCounter = 0;

async function newKeys(curve: TestCurve): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey({ name: 'ECDSA', namedCurve: curve }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** Distinct, positive, fixed-width serials, so a run's certificates never share one. */
function nextSerial(): string {
  serialCounter += 1;
  return `01${serialCounter.toString(16).padStart(14, '0')}`;
}

function signingAlgorithm(signer: webcrypto.CryptoKeyPair): webcrypto.EcdsaParams {
  const curve = (signer.privateKey.algorithm as webcrypto.EcKeyAlgorithm).namedCurve as TestCurve;
  return { name: 'ECDSA', hash: HASH[curve] };
}

async function wrap(certificate: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<TestCert> {
  const privateKey = KeyObject.from(keys.privateKey);
  return {
    certificate,
    der: Buffer.from(certificate.rawData),
    pem: certificate.toString('pem'),
    keys,
    privateKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: KeyObject.from(keys.publicKey),
  };
}

function dates(v: Validity): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(v.notBefore ?? TEST_NOT_BEFORE), notAfter: new Date(v.notAfter ?? TEST_NOT_AFTER) };
}

/**
 * A self-signed root: CA:TRUE (critical), keyUsage keyCertSign + cRLSign (critical), SKI.
 * Defaults: CN `Test Root CA`, P-256, the fixed test validity.
 */
export async function createTestRoot(o: { commonName?: string; curve?: TestCurve } & Validity = {}): Promise<TestCert> {
  const keys = await newKeys(o.curve ?? 'P-256');
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: `CN=${o.commonName ?? 'Test Root CA'}`,
    ...dates(o),
    keys,
    signingAlgorithm: signingAlgorithm(keys),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(CA_USAGES, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return wrap(certificate, keys);
}

/** Options of {@link createTestIntermediate}. */
export interface TestIntermediateOptions extends Validity {
  /** The CA that signs it. */
  readonly parent: TestCert;
  /** Default `Test Issuer CA`. */
  readonly commonName?: string;
  /** Default `P-256`. */
  readonly curve?: TestCurve;
  /** basicConstraints pathLenConstraint; default 0, `null` for none. */
  readonly pathLength?: number | null;
  /** Whether it carries a subjectKeyIdentifier; default true (false tests the AKI fallback). */
  readonly subjectKeyId?: boolean;
}

/**
 * A good issuer CA signed by `parent`: CA:TRUE pathlen:0 (critical), keyUsage keyCertSign +
 * cRLSign (critical), SKI (unless `subjectKeyId: false`) and AKI = the parent's key id.
 */
export async function createTestIntermediate(o: TestIntermediateOptions): Promise<TestCert> {
  const keys = await newKeys(o.curve ?? 'P-256');
  const pathLength = o.pathLength === undefined ? 0 : (o.pathLength ?? undefined);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, pathLength, true),
    new x509.KeyUsagesExtension(CA_USAGES, true),
    await x509.AuthorityKeyIdentifierExtension.create(o.parent.keys.publicKey),
  ];
  if (o.subjectKeyId !== false) extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${o.commonName ?? 'Test Issuer CA'}`,
    issuer: o.parent.certificate.subjectName,
    ...dates(o),
    publicKey: keys.publicKey,
    signingKey: o.parent.keys.privateKey,
    signingAlgorithm: signingAlgorithm(o.parent.keys),
    extensions,
  });
  return wrap(certificate, keys);
}

/**
 * A certificate signed by `parent` that is not a CA (basicConstraints CA=false, keyUsage
 * digitalSignature), with a CN, for "the issuer must be a CA" checks.
 */
export async function createTestNonCa(o: { parent: TestCert; commonName?: string }): Promise<TestCert> {
  const keys = await newKeys('P-256');
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${o.commonName ?? 'Test Not A CA'}`,
    issuer: o.parent.certificate.subjectName,
    ...dates({}),
    publicKey: keys.publicKey,
    signingKey: o.parent.keys.privateKey,
    signingAlgorithm: signingAlgorithm(o.parent.keys),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return wrap(certificate, keys);
}

/** A good issuer CA signed by `parent` except that it expired: valid only during 2020. */
export async function createTestExpiredIssuer(o: { parent: TestCert }): Promise<TestCert> {
  return createTestIntermediate({
    parent: o.parent,
    commonName: 'Test Expired Issuer CA',
    notBefore: EXPIRED_NOT_BEFORE,
    notAfter: EXPIRED_NOT_AFTER,
  });
}

/** A good-looking issuer CA whose root is a different, freshly made root (not in any bundle). */
export async function createTestForeignIssuer(): Promise<{ root: TestCert; issuer: TestCert }> {
  const root = await createTestRoot({ commonName: 'Foreign Root CA' });
  const issuer = await createTestIntermediate({ parent: root, commonName: 'Test Issuer CA' });
  return { root, issuer };
}

/** Options of {@link createTestLeaf}. */
export interface TestLeafOptions extends Validity {
  readonly issuer: TestCert;
  /** URI SAN; default `spiffe://cluster.local/ns/default/sa/default`. */
  readonly spiffeId?: string;
  /** DNS SAN; default `default.default.serviceaccount.identity.linkerd.cluster.local`. */
  readonly dnsName?: string;
  /** Leaf key curve; default `P-256`. */
  readonly curve?: TestCurve;
}

/**
 * An X509-SVID-shaped leaf signed by `issuer`, made by @peculiar/x509 (empty subject, critical
 * SAN, CA=false, digitalSignature + keyEncipherment, server+client auth, SKI, AKI). Its URI SAN
 * comes before the DNS SAN, the reverse of the agent's own leaves, so client tests show that the
 * SPIFFE ID is found wherever it is.
 */
export async function createTestLeaf(o: TestLeafOptions): Promise<TestCert> {
  const keys = await newKeys(o.curve ?? 'P-256');
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: '',
    issuer: o.issuer.certificate.subjectName,
    ...dates(o),
    publicKey: keys.publicKey,
    signingKey: o.issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(o.issuer.keys),
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        [
          { type: 'url', value: o.spiffeId ?? 'spiffe://cluster.local/ns/default/sa/default' },
          { type: 'dns', value: o.dnsName ?? 'default.default.serviceaccount.identity.linkerd.cluster.local' },
        ],
        true,
      ),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(o.issuer.keys.publicKey),
    ],
  });
  return wrap(certificate, keys);
}

/** Options of {@link issueTestServer}. */
export interface TestServerOptions {
  readonly issuer: TestCert;
  /** iPAddress SANs, e.g. `127.0.0.1`. */
  readonly ips?: readonly string[];
  /** dNSName SANs, e.g. `localhost`. */
  readonly dnsNames?: readonly string[];
}

/** A TLS server certificate and key in PEM, ready for `https.createServer({ cert, key })`. */
export interface TestServerPair {
  readonly certPem: string;
  /** PKCS#8 PEM. */
  readonly keyPem: string;
  readonly cert: TestCert;
}

/**
 * A TLS server certificate signed by `issuer`: subject CN = the first name, SANs as given,
 * CA=false, digitalSignature + keyEncipherment, extKeyUsage serverAuth. Its fixed validity
 * (2025-2045) covers the real clock, which TLS clients check.
 */
export async function issueTestServer(o: TestServerOptions): Promise<TestServerPair> {
  const keys = await newKeys('P-256');
  const names = [
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: `CN=${names[0]?.value ?? 'test server'}`,
    issuer: o.issuer.certificate.subjectName,
    ...dates({}),
    publicKey: keys.publicKey,
    signingKey: o.issuer.keys.privateKey,
    signingAlgorithm: signingAlgorithm(o.issuer.keys),
    extensions: [
      new x509.SubjectAlternativeNameExtension(names),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(o.issuer.keys.publicKey),
    ],
  });
  const cert = await wrap(certificate, keys);
  return { certPem: cert.pem, keyPem: cert.privateKeyPem, cert };
}

/** Every kind of test certificate at once. */
export interface TestCa {
  readonly root: TestCert;
  /** `root` as PEM (the bundle a client trusts). */
  readonly caPem: string;
  /** Good issuer signed by `root`. */
  readonly intermediate: TestCert;
  /** Signed by `root`, not a CA. */
  readonly nonCa: TestCert;
  /** Issuer signed by `root`, expired in 2021. */
  readonly expiredIssuer: TestCert;
  /** Issuer chaining to `foreignRoot`, not to `root`. */
  readonly foreignIssuer: TestCert;
  readonly foreignRoot: TestCert;
  /** A leaf signed by `intermediate`. */
  readonly leaf: TestCert;
  /** A TLS server certificate signed directly by `root` (see {@link issueTestServer}). */
  issueServer(o: { ips?: readonly string[]; dnsNames?: readonly string[] }): Promise<TestServerPair>;
}

/** Builds a whole {@link TestCa} (all P-256); `commonName` names the root (default `Test Root CA`). */
export async function createTestCa(commonName = 'Test Root CA'): Promise<TestCa> {
  const root = await createTestRoot({ commonName });
  const intermediate = await createTestIntermediate({ parent: root });
  const foreign = await createTestForeignIssuer();
  return {
    root,
    caPem: root.pem,
    intermediate,
    nonCa: await createTestNonCa({ parent: root }),
    expiredIssuer: await createTestExpiredIssuer({ parent: root }),
    foreignIssuer: foreign.issuer,
    foreignRoot: foreign.root,
    leaf: await createTestLeaf({ issuer: intermediate }),
    issueServer: (o) => issueTestServer({ issuer: root, ...o }),
  };
}
