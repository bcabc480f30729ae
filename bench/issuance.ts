/**
 * How fast the embedded issuer makes X.509-SVIDs, against the floor set by the raw node:crypto
 * operations it cannot avoid; Certify (which verifies a CSR) separately; and @peculiar/x509 doing
 * Certify's issuer part.
 *
 *   npm run bench -- issuance      (a section of bench/run.ts; or, after npm run build:
 *                                   node --import tsx bench/issuance.ts)
 *
 * It measures the compiled issuer (dist/modules/, compiled as the bundle is: bench/compiled.ts).
 * Each case warms up, then runs back to back for a fixed time on one thread; figures are
 * operations per second. Nothing is asserted: speed depends on the machine (see
 * docs/performance.md for recorded figures and the goal).
 */
import 'reflect-metadata';
import { createECDH, generateKeyPairSync, randomBytes, sign, webcrypto } from 'node:crypto';
import { loadavg } from 'node:os';
import * as x509 from '@peculiar/x509';
import type { IssuerCredentials } from '../src/issuer/index.js';
import { compiled } from './compiled.js';
import { scaled } from './mode.js';
import { printTable } from './report.js';

// The issuer as users run it: compiled (see compiled.ts).
const { workloadIdentityFor } = await compiled<typeof import('../src/identity.js')>('src/identity.js');
const der = await compiled<typeof import('../src/issuer/der.js')>('src/issuer/der.js');
const { p256EncodingsOfParts } = await compiled<typeof import('../src/issuer/ec-keys.js')>('src/issuer/ec-keys.js');
const {
  createCertifier,
  createCsr,
  createIssuerCa,
  createTrustAnchor,
  createX509SvidSigner,
  generateWorkloadKey,
  loadIssuer,
  loadTrustAnchors,
  newKeyPair,
  parseCsr,
} = await compiled<typeof import('../src/issuer/index.js')>('src/issuer/index.js');
const { randomSerial } = await compiled<typeof import('../src/issuer/serial.js')>('src/issuer/serial.js');
const { silentLogger } = await compiled<typeof import('../src/log.js')>('src/log.js');
const { createValueChannel } = await compiled<typeof import('../src/value-channel.js')>('src/value-channel.js');

const WARMUP_MS = scaled(500, 100);
const RUN_MS = scaled(2000, 300);
/** Pairs of alternating 200 ms slices in `compare`; even. */
const PAIRS = scaled(30, 6);
const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const identity = workloadIdentityFor({ type: 'serviceaccount', namespace: 'emojivoto', name: 'web' }, naming);
const SPIFFE_ID = identity.spiffeId;
const DNS_NAME = identity.dnsName;
const DAY_MS = 24 * 60 * 60 * 1000;
/** The pod a Certify token is bound to (Certify takes pod-bound tokens only). */
const POD_UID = '0b5e7f3a-1c2d-4e8f-9a6b-7c3d2e1f0a95';

type Op = () => unknown;

/** Operations per second of wall-clock time, and per second of the process's CPU time (all threads). */
interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

/** Runs `op` repeatedly for `ms` of wall-clock time. */
async function rate(op: Op, ms: number): Promise<Rate> {
  let n = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let elapsed = 0;
  do {
    // Await only when the op is async, so sync ops are not slowed by a microtask per call.
    const r = op();
    if (r instanceof Promise) await r;
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  const cpu = process.cpuUsage(cpuStart);
  return { wall: (n * 1000) / elapsed, cpu: (n * 1e6) / (cpu.user + cpu.system) };
}

/** Operations per second (wall clock). */
async function measure(op: Op): Promise<number> {
  await rate(op, WARMUP_MS);
  return (await rate(op, RUN_MS)).wall;
}

/** Rates of `a` and `b` and their ratio a/b, on one clock. */
interface Comparison {
  readonly a: number;
  readonly b: number;
  readonly ratio: number;
}

/**
 * `a` against `b` in alternating slices (30 pairs of 200 ms each), so that load from other
 * processes on a shared machine hits both alike: the mean rate of each, and the median of the
 * per-pair ratios a/b (a load burst spoils one pair, not the ratio). On wall-clock time, and on
 * CPU time, which leaves out the time the process waited for a CPU on a busy machine (but still
 * counts what load does to caches).
 */
async function compare(a: Op, b: Op): Promise<{ wall: Comparison; cpu: Comparison }> {
  await rate(a, WARMUP_MS);
  await rate(b, WARMUP_MS);
  const pairs: Array<[Rate, Rate]> = [];
  for (let i = 0; i < PAIRS; i++) pairs.push([await rate(a, 200), await rate(b, 200)]);
  const on = (clock: keyof Rate): Comparison => {
    const mean = (k: 0 | 1) => pairs.reduce((sum, p) => sum + p[k][clock], 0) / pairs.length;
    const ratios = pairs.map(([x, y]) => x[clock] / y[clock]).sort((x, y) => x - y);
    return { a: mean(0), b: mean(1), ratio: ((ratios[PAIRS / 2 - 1] as number) + (ratios[PAIRS / 2] as number)) / 2 };
  };
  return { wall: on('wall'), cpu: on('cpu') };
}

// === setup: the issuer the agent loads ===

const anchor = createTrustAnchor();
const issuer = createIssuerCa({ anchor });
const files: Record<string, string> = {
  '/a': anchor.certificatePem,
  '/i/tls.crt': issuer.certificatePem,
  '/i/tls.key': issuer.privateKeyPem,
};
const readFile = async (path: string) => Buffer.from(files[path] ?? '');
const anchors = await loadTrustAnchors('/a', { now: Date.now(), readFile });
const credentials = await loadIssuer('/i', anchors, { now: Date.now(), readFile });
const issuerChannel = createValueChannel<IssuerCredentials | undefined>(credentials);
const signerOptions = {
  issuer: issuerChannel.receiver,
  clock: { now: () => Date.now() },
  lifetimeMs: DAY_MS,
  clockSkewMs: 20_000,
  logger: silentLogger(),
};
const svidSigner = createX509SvidSigner(signerOptions);

/**
 * (a) One complete SVID on the agent path, exactly what the SVID store does per issuance: a fresh
 * workload key (`crypto.ECDH` keygen, its raw scalar and point assembled into SPKI and PKCS#8)
 * and the embedded issuer signing its public key (leaf encoding + one ECDSA sign).
 */
async function agentPath(): Promise<Buffer> {
  const key = generateWorkloadKey();
  return (await svidSigner.issueX509Svid({ identity, key })).leaf;
}

// A payload as large as the leaf TBS the agent path really signs.
const sampleLeaf = await agentPath();
const tbsSize = der.childrenOf(der.decode(sampleLeaf))[0]?.raw.length ?? 0;
const tbsPayload = randomBytes(tbsSize);

/**
 * (b) The floor: the same work in raw node:crypto, with no encoding of ours: the cheapest key
 * generation with an export that node:crypto offers (`generateKeys()` on one `crypto.ECDH`
 * object, then its private scalar; its public point comes with the key), and one sign of a
 * leaf-sized payload with the issuer key.
 */
function cryptoFloor(): void {
  ecdhKeygen();
  sign('sha256', tbsPayload, credentials.privateKey);
}

/** A P-256 key from `crypto.ECDH`, its public point and its private scalar; one object makes every key. */
function ecdhKeygen(): { point: Buffer; scalar: Buffer } {
  const point = floorEcdh.generateKeys();
  return { point, scalar: floorEcdh.getPrivateKey() };
}
const floorEcdh = createECDH('prime256v1');

/** `generateKeyPairSync` with only the private half encoded, which Node's type declarations do not describe. */
const keygenWithExport = generateKeyPairSync as unknown as (
  type: 'ec',
  options: { namedCurve: string; privateKeyEncoding: { type: 'sec1'; format: 'der' } },
) => { privateKey: Buffer };

/** (d) Certify for a client that sent a CSR: parse, rules, proof of possession, token (an instant validator), sign. */
const certifier = createCertifier({
  ...signerOptions,
  naming,
  validator: { validate: async () => ({ account: identity.account, audiences: ['identity.l5d.io'], podUid: POD_UID }) },
});
const certifyCsr = createCsr({
  privateKey: newKeyPair('ec', { namedCurve: 'P-256' }).privateKey,
  commonName: DNS_NAME,
  dnsNames: [DNS_NAME],
});
const certifyPath = () => certifier.certify({ identity: DNS_NAME, token: 'token', csr: certifyCsr });

// @peculiar/x509 doing the issuer's part (parse CSR, verify it, create the leaf).
const subtle = webcrypto.subtle;
const issuerCryptoKey = await subtle.importKey(
  'pkcs8',
  issuer.privateKey.export({ type: 'pkcs8', format: 'der' }),
  { name: 'ECDSA', namedCurve: 'P-256' },
  false,
  ['sign'],
);
const issuerCert = new x509.X509Certificate(issuer.certificateDer);
const peculiarKeys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
  'sign',
  'verify',
])) as webcrypto.CryptoKeyPair;
const peculiarCsrDer = (
  await x509.Pkcs10CertificateRequestGenerator.create({
    keys: peculiarKeys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: DNS_NAME }])],
  })
).rawData;
const issuerAki = await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey);

async function peculiarPath(): Promise<x509.X509Certificate> {
  const csr = new x509.Pkcs10CertificateRequest(peculiarCsrDer);
  if (!(await csr.verify())) throw new Error('csr signature does not verify');
  const now = Date.now();
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial().toString('hex'),
    subject: '',
    issuer: issuerCert.subjectName,
    notBefore: new Date(now - 20_000),
    notAfter: new Date(now + DAY_MS),
    publicKey: csr.publicKey,
    signingKey: issuerCryptoKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.SubjectAlternativeNameExtension(
        [
          { type: 'dns', value: DNS_NAME },
          { type: 'url', value: SPIFFE_ID },
        ],
        true,
      ),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      issuerAki,
    ],
  });
}

// Parts of the agent path, to show where its time goes.
const sampleParts = ecdhKeygen();
const sampleSpki = generateWorkloadKey().publicKeySpki;

/** (f) The leaf alone as the issuer signs it per SVID: a serial, the validity, the encoding and one sign. */
function signOnly(): Buffer {
  const now = Date.now();
  return credentials.signer.sign({
    serial: randomSerial(),
    notBefore: now,
    notAfter: now + DAY_MS,
    subjectPublicKeySpki: sampleSpki,
    spiffeId: SPIFFE_ID,
    dnsName: DNS_NAME,
  });
}

/** (g) Its floor: the one sign of a leaf-TBS-sized payload, as in (b). */
const bareSign = () => sign('sha256', tbsPayload, credentials.privateKey);

/** node:crypto's own way to the encodings the agent path needs: keygen with PKCS#8 and SPKI exports. */
const keygenWithOwnEncoders = () =>
  generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });

// === run ===

const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');

const agentVsFloor = await compare(agentPath, cryptoFloor);
const { a, b, ratio } = agentVsFloor.wall;
const leafVsSign = await compare(signOnly, bareSign);
const leafOnly = leafVsSign.wall;
const d = await measure(certifyPath);
const e = await measure(peculiarPath);
const parts = {
  'P-256 keygen by crypto.ECDH, point and scalar': await measure(ecdhKeygen),
  'ECDH parts -> SPKI + PKCS#8 (p256EncodingsOfParts)': await measure(() => p256EncodingsOfParts(sampleParts.scalar, sampleParts.point)),
  'generateWorkloadKey (the two above)': await measure(generateWorkloadKey),
  'P-256 keygen by generateKeyPairSync with SEC1 export': await measure(() =>
    keygenWithExport('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'sec1', format: 'der' } }),
  ),
  'P-256 keygen + PKCS#8 + SPKI by OpenSSL encoders': await measure(keygenWithOwnEncoders),
  'Certify only: parseCsr + verifySignature': await measure(() => parseCsr(certifyCsr).verifySignature()),
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9);
const us = (n: number): string => (1e6 / n).toFixed(1).padStart(8);
const row = (label: string, n: number): string => `| ${label.padEnd(62)} | ${fmt(n)} | ${us(n)} |`;

console.log(
  `node ${process.version}, openssl ${process.versions.openssl}; (a) and (b) alternate ${PAIRS} x 200 ms each, others ${RUN_MS / 1000} s, after ${WARMUP_MS} ms warm-up`,
);
console.log(
  `payload: leaf tbs ${tbsSize} B, leaf ${sampleLeaf.length} B; load average before: ${loadBefore}, after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log('');
console.log(`| ${'case'.padEnd(62)} | ${'per s'.padStart(9)} | ${'µs/op'.padStart(8)} |`);
console.log(`|${'-'.repeat(64)}|${'-'.repeat(10)}:|${'-'.repeat(9)}:|`);
console.log(row('(a) agent path: workload key + embedded issuer signs its key', a));
console.log(row('(b) node:crypto floor: ECDH keygen + scalar export + one sign', b));
console.log(row('(d) Certify: parse CSR + verify + sign (token check instant)', d));
console.log(row('(e) @peculiar/x509: parse CSR + verify + create leaf', e));
console.log(row('(f) leaf alone: serial + LeafSigner.sign', leafOnly.a));
console.log(row('(g) its floor: one crypto.sign of a leaf-TBS-sized payload', leafOnly.b));
for (const [label, n] of Object.entries(parts)) console.log(row(`    part: ${label}`, n));
console.log('');
console.log(
  `(c) ratio (a)/(b) = ${ratio.toFixed(2)}, median of ${PAIRS} paired slices  (goal >= 0.85; 1.00 would mean no overhead over raw crypto)`,
);
console.log(
  `    (f)/(g) = ${leafOnly.ratio.toFixed(2)}, median of ${PAIRS} paired slices; the leaf's own work ≈ ${((1 / leafOnly.ratio - 1) * (1e6 / leafOnly.b)).toFixed(1)} µs over the sign`,
);
const perCpu = (c: Comparison, what: string) =>
  `    on CPU time: ${what} = ${c.ratio.toFixed(2)} (${fmt(c.a).trim()} vs ${fmt(c.b).trim()} per CPU-second, ${us(c.a).trim()} vs ${us(c.b).trim()} µs)`;
console.log(perCpu(agentVsFloor.cpu, '(a)/(b)'));
console.log(perCpu(leafVsSign.cpu, '(f)/(g)'));
console.log(`    Certify vs @peculiar/x509 doing the same issuer part: ${(d / e).toFixed(1)}x`);
printTable('issuance', [
  {
    label: '(a) agent-path SVIDs per second (wall clock)',
    value: a,
    unit: '',
    reference: { label: '(b) node:crypto floor', value: b },
    ratio,
    ratioAtLeast: 0.85,
    note: `median of ${PAIRS} paired slices`,
  },
]);
