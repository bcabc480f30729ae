/**
 * Valid inputs the fuzzers start from: CSRs from our encoder and hand-built ones (RSA, Ed25519,
 * compressed and hybrid EC points, explicit curve parameters, OpenSSL's), certificates (ours and
 * OpenSSL's), and the 200 KB OID of issue 15 inside a CSR and a certificate.
 */
import { createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createIssuerCa, createTrustAnchor } from '../../src/issuer/ca.js';
import { createCsr } from '../../src/issuer/csr.js';
import * as der from '../../src/issuer/der.js';
import { newKeyPair } from '../../src/issuer/index.js';
import { createLeafSigner } from '../../src/issuer/leaf.js';
import { csrWithSpki, ecSpki, explicitParametersKey } from '../support/csr-variants.js';
import { opensslOk, withTempDir } from '../support/openssl.js';
import { longOid, mutateBytes, mutateDer } from './mutate.js';
import type { Rng } from './prng.js';

export const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
export const SPIFFE = 'spiffe://cluster.local/ns/emojivoto/sa/web';

const spkiOf = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });

/** A CSR over any key: `algorithm` is the encoded AlgorithmIdentifier, `hash` null for Ed25519. */
function csrFor(privateKey: KeyObject, algorithm: Buffer, hash: string | null, extensions: Buffer[]): Buffer {
  const attributes = extensions.length
    ? der.implicit(0, der.sequence(der.oid('1.2.840.113549.1.9.14'), der.set(der.sequence(...extensions))), { constructed: true })
    : der.implicit(0, Buffer.alloc(0), { constructed: true });
  const info = der.sequence(der.integer(0), der.sequence(), spkiOf(privateKey), attributes);
  return der.sequence(info, algorithm, der.bitString(sign(hash, info, privateKey)));
}

const sanExtension = (critical: boolean) =>
  der.sequence(
    der.oid('2.5.29.17'),
    ...(critical ? [der.boolean(true)] : []),
    der.octetString(der.sequence(der.implicit(2, der.ascii(DNS)), der.implicit(6, der.ascii(SPIFFE)))),
  );

/** `openssl req <args> -outform DER` with a fresh key on `curve`: a CSR, or with `-x509` a certificate. */
async function opensslDer(curve: string, args: readonly string[]): Promise<Buffer> {
  return withTempDir(async (dir) => {
    const key = join(dir.path, 'k.pem');
    const out = join(dir.path, 'out.der');
    opensslOk(['ecparam', '-name', curve, '-genkey', '-noout', '-out', key]);
    opensslOk(['req', '-new', '-key', key, ...args, '-outform', 'DER', '-out', out]);
    return readFileSync(out);
  });
}

const opensslCsr = () =>
  opensslDer('prime256v1', ['-subj', `/CN=${DNS}/O=x/OU=y`, '-addext', `subjectAltName=DNS:${DNS},IP:10.0.0.1,email:a@b`]);

const opensslCertificate = () =>
  opensslDer('secp384r1', [
    '-x509',
    '-subj',
    '/CN=root/O=Example/C=US',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE,pathlen:1',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-addext',
    'nameConstraints=critical,permitted;DNS:.example',
  ]);

/** Valid and unusual CSRs; the first is the plain P-256 one the agent itself makes. */
export async function csrSeeds(): Promise<Buffer[]> {
  const p256 = newKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const p384 = newKeyPair('ec', { namedCurve: 'P-384' }).privateKey;
  const rsa = newKeyPair('rsa', { modulusLength: 2048 }).privateKey;
  const ed = newKeyPair('ed25519').privateKey;
  const explicit = explicitParametersKey();
  return [
    createCsr({ privateKey: p256, dnsNames: [DNS] }),
    createCsr({ privateKey: p256, commonName: DNS, dnsNames: [DNS] }),
    createCsr({ privateKey: p384, dnsNames: [DNS], uris: [SPIFFE] }),
    createCsr({ privateKey: p256 }),
    csrWithSpki(p256, ecSpki(p256, 'compressed'), [DNS]),
    csrWithSpki(p384, ecSpki(p384, 'hybrid'), [DNS]),
    csrWithSpki(explicit, spkiOf(explicit), [DNS]),
    csrFor(rsa, der.sequence(der.oid('1.2.840.113549.1.1.11'), der.nullValue()), 'sha256', [sanExtension(false)]),
    csrFor(ed, der.sequence(der.oid('1.3.101.112')), null, [sanExtension(true)]),
    await opensslCsr(),
  ];
}

/** Certificates: a root, an issuer, a leaf, and an OpenSSL root with more extension types. */
export async function certificateSeeds(): Promise<Buffer[]> {
  const anchor = createTrustAnchor();
  const issuer = createIssuerCa({ anchor });
  const signer = createLeafSigner({ certificateDer: issuer.certificateDer, privateKey: issuer.privateKey });
  const leafKey = newKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
  const now = Date.now();
  const leaf = signer.sign({
    serial: Buffer.from([1, 2, 3]),
    notBefore: now,
    notAfter: now + 3_600_000,
    subjectPublicKeySpki: spkiOf(leafKey),
    spiffeId: SPIFFE,
    dnsName: DNS,
  });
  return [anchor.certificateDer, issuer.certificateDer, leaf, await opensslCertificate()];
}

/** The 200 KB object identifier of issue 15 (13 s to read before the bounds). */
export const HUGE_OID = longOid(200 * 1024);

/** `seed` with the id of its first extension (CSR attribute or certificate extension) replaced by {@link HUGE_OID}. */
export function withHugeOid(seed: Buffer): Buffer {
  const san = der.oid('2.5.29.17');
  if (seed.indexOf(san) < 0) throw new Error('seed has no subjectAltName');
  // Rebuilt through the tree so that every enclosing length is right.
  const replace = (el: der.DerElement): Buffer => {
    if (el.raw.equals(san)) return HUGE_OID;
    return el.constructed ? der.tlv(el.tag, ...der.childrenOf(el).map(replace)) : el.raw;
  };
  return replace(der.decode(seed));
}

/**
 * Input `index` of a DER target: 0 is `hugeOid`, 1..n each seed as it is, then mutations of the
 * seeds (three in four as DER trees, the rest as bytes).
 */
export function derInput(rng: Rng, index: number, seeds: readonly Buffer[], hugeOid: Buffer): Buffer {
  if (index === 0) return hugeOid;
  if (index <= seeds.length) return seeds[index - 1] as Buffer;
  const seed = rng.pick(seeds);
  return rng.chance(0.75) ? mutateDer(rng, seed, seeds) : mutateBytes(rng, seed, seeds);
}
