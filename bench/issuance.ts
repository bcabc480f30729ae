/**
 * How fast the embedded issuer makes X509-SVIDs, against the floor set by the raw node:crypto
 * operations it cannot avoid, and against @peculiar/x509 doing the issuer's part.
 *
 *   node --import tsx bench/issuance.ts      (or: npm run bench)
 *
 * Each case warms up, then runs back to back for a fixed time on one thread; figures are
 * operations per second. Nothing is asserted: speed depends on the machine (see
 * docs/performance.md for recorded figures).
 */
import 'reflect-metadata';
import { generateKeyPairSync, randomBytes, sign, verify, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { createIssuerCa, createTrustAnchor } from '../src/issuer/ca.js';
import { createCsr, parseCsr } from '../src/issuer/csr.js';
import * as der from '../src/issuer/der.js';
import { pkcs8Of } from '../src/issuer/ec-keys.js';
import { createLeafSigner } from '../src/issuer/leaf.js';
import { randomSerial } from '../src/issuer/serial.js';

const WARMUP_MS = 500;
const RUN_MS = 2000;
const SPIFFE_ID = 'spiffe://cluster.local/ns/emojivoto/sa/web';
const DNS_NAME = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const DAY_MS = 24 * 60 * 60 * 1000;

type Op = () => unknown;

/** Runs `op` repeatedly for `ms` and returns operations per second. */
async function rate(op: Op, ms: number): Promise<number> {
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    // Await only when the op is async, so sync ops are not slowed by a microtask per call.
    const r = op();
    if (r instanceof Promise) await r;
    n++;
    elapsed = performance.now() - start;
  } while (elapsed < ms);
  return (n * 1000) / elapsed;
}

async function measure(op: Op): Promise<number> {
  await rate(op, WARMUP_MS);
  return rate(op, RUN_MS);
}

// === setup ===

const anchor = createTrustAnchor();
const issuer = createIssuerCa({ anchor });
const signer = createLeafSigner({ certificateDer: issuer.certificateDer, privateKey: issuer.privateKey });

/** The full agent path for one SVID: new key, CSR, Certify's parse + proof check, leaf, key export. */
function agentPath(): Buffer {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csr = parseCsr(createCsr({ privateKey, dnsNames: [DNS_NAME] }));
  if (!csr.verifySignature()) throw new Error('csr signature does not verify');
  const now = Date.now();
  const leaf = signer.sign({
    serial: randomSerial(),
    notBefore: now - 20_000,
    notAfter: now + DAY_MS,
    subjectPublicKeySpki: csr.publicKeySpki,
    spiffeId: SPIFFE_ID,
    dnsName: DNS_NAME,
  });
  pkcs8Of(privateKey, 'prime256v1');
  return leaf;
}

// Payloads as large as what the agent path really signs: the CSR info and the leaf TBS.
const sampleLeaf = agentPath();
const sampleKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const csrInfoSize = der.childrenOf(der.decode(createCsr({ privateKey: sampleKey, dnsNames: [DNS_NAME] })))[0]?.raw.length ?? 0;
const tbsSize = der.childrenOf(der.decode(sampleLeaf))[0]?.raw.length ?? 0;
const csrPayload = randomBytes(csrInfoSize);
const tbsPayload = randomBytes(tbsSize);

/** The floor: the same asymmetric work with no encoding at all. */
function cryptoFloor(): void {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const csrSignature = sign('sha256', csrPayload, privateKey);
  if (!verify('sha256', csrPayload, publicKey, csrSignature)) throw new Error('verify failed');
  sign('sha256', tbsPayload, issuer.privateKey);
}

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
const partCsr = createCsr({ privateKey: sampleKey, dnsNames: [DNS_NAME] });
const partSpki = parseCsr(partCsr).publicKeySpki;
function signOnly(): Buffer {
  const now = Date.now();
  return signer.sign({
    serial: randomSerial(),
    notBefore: now,
    notAfter: now + DAY_MS,
    subjectPublicKeySpki: partSpki,
    spiffeId: SPIFFE_ID,
    dnsName: DNS_NAME,
  });
}

// === run ===

const a = await measure(agentPath);
const b = await measure(cryptoFloor);
const d = await measure(peculiarPath);
const parts = {
  'P-256 keygen': await measure(() => generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  createCsr: await measure(() => createCsr({ privateKey: sampleKey, dnsNames: [DNS_NAME] })),
  'parseCsr + verifySignature': await measure(() => parseCsr(partCsr).verifySignature()),
  'signer.sign (leaf only)': await measure(signOnly),
  'PKCS#8 export': await measure(() => pkcs8Of(sampleKey, 'prime256v1')),
};

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9);
const us = (n: number): string => (1e6 / n).toFixed(1).padStart(8);
const row = (label: string, n: number): string => `| ${label.padEnd(60)} | ${fmt(n)} | ${us(n)} |`;

console.log(`node ${process.version}, openssl ${process.versions.openssl}, ${RUN_MS / 1000} s per case after ${WARMUP_MS} ms warm-up`);
console.log(`payloads: csr info ${csrInfoSize} B, leaf tbs ${tbsSize} B, leaf ${sampleLeaf.length} B`);
console.log('');
console.log(`| ${'case'.padEnd(60)} | ${'per s'.padStart(9)} | ${'µs/op'.padStart(8)} |`);
console.log(`|${'-'.repeat(62)}|${'-'.repeat(10)}:|${'-'.repeat(9)}:|`);
console.log(row('(a) agent path: keygen+createCsr+parseCsr+verify+sign+pkcs8', a));
console.log(row('(b) node:crypto floor: keygen+sign+verify+sign', b));
console.log(row('(d) @peculiar/x509: parse CSR+verify+create leaf', d));
for (const [label, n] of Object.entries(parts)) console.log(row(`    part: ${label}`, n));
console.log('');
console.log(`(c) ratio (a)/(b) = ${(a / b).toFixed(2)}  (1.00 would mean no overhead over raw crypto)`);
console.log(
  `    issuer part, ours vs @peculiar/x509: ${(1e6 / (1e6 / parts['parseCsr + verifySignature'] + 1e6 / parts['signer.sign (leaf only)']) / d).toFixed(1)}x`,
);
