/**
 * Generates the credentials `svid-agent certs create` and `--dev` write (docs/configuration.md): a trust anchor,
 * an issuer CA signed by it (the pair Linkerd keeps in `linkerd-identity-trust-roots` and
 * `linkerd-identity-issuer`), and a JWT signing key. Synchronous and built on `der.ts`, so tests
 * can make CAs cheaply.
 */
import type { KeyObject } from 'node:crypto';
import { readCertificateInfo } from './cert-info.js';
import { EC_CURVES, ecdsaSchemeFor } from './curves.js';
import { spkiOf } from './ec-keys.js';
import { newKeyPair } from './keygen.js';
import { toPem } from './pem.js';
import { randomSerial } from './serial.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  commonNameName,
  type EcdsaScheme,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  signCertificate,
  subjectKeyIdentifier,
  tbsCertificate,
} from './x509-encoding.js';

/** A generated CA certificate and its key. */
export interface GeneratedCa {
  readonly certificatePem: string;
  /** Unencrypted PKCS#8 PEM (`PRIVATE KEY`). */
  readonly privateKeyPem: string;
  readonly certificateDer: Buffer;
  readonly privateKey: KeyObject;
}

/** Curves a generated CA key may use. */
export type CaCurve = 'P-256' | 'P-384';

/** Options of {@link createTrustAnchor}. */
export interface TrustAnchorOptions {
  /** Subject CN; default `root.linkerd.cluster.local` (what `linkerd install` uses). */
  readonly commonName?: string;
  /** Lifetime from `now`, ms; default 10 years. */
  readonly ttlMs?: number;
  /** ms since the epoch; default `Date.now()`. */
  readonly now?: number;
  /** Key curve; default `P-256`. */
  readonly curve?: CaCurve;
}

/** Options of {@link createIssuerCa}. */
export interface IssuerCaOptions {
  /** The anchor that signs the issuer. */
  readonly anchor: GeneratedCa;
  /** Subject CN; default `identity.linkerd.cluster.local`. */
  readonly commonName?: string;
  /** Lifetime from `now`, ms; default 1 year. Not clamped to the anchor's lifetime. */
  readonly ttlMs?: number;
  /** ms since the epoch; default `Date.now()`. */
  readonly now?: number;
  /**
   * Key curve; default `P-256`. Keep P-256 for Linkerd: the issuer's key signs the leaves and
   * the proxy accepts only ECDSA-SHA256 (docs/certificates.md).
   */
  readonly curve?: CaCurve;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdating of notBefore, so that nodes whose clocks lag a little accept a fresh CA. */
const BACKDATE_MS = 60 * 1000;
const CA_KEY_USAGE = [KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign];

function checkOptions(o: { commonName: string; ttlMs: number; now: number }): void {
  if (o.commonName === '') throw new TypeError('commonName must not be empty');
  if (!Number.isFinite(o.ttlMs) || o.ttlMs <= 0) throw new TypeError('ttlMs must be a positive number');
  if (!Number.isFinite(o.now)) throw new TypeError('now must be a finite number');
}

function newKey(curve: CaCurve): KeyObject {
  if (!EC_CURVES.some((c) => c.jwk === curve && c.certificates))
    throw new TypeError(`curve must be P-256 or P-384, found ${String(curve)}`);
  return newKeyPair('ec', { namedCurve: curve }).privateKey;
}

function generated(certificateDer: Buffer, privateKey: KeyObject): GeneratedCa {
  return {
    certificatePem: toPem('CERTIFICATE', certificateDer),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificateDer,
    privateKey,
  };
}

/**
 * A self-signed root: CA:TRUE (critical, no path length limit), keyUsage keyCertSign + cRLSign
 * (critical), subjectKeyIdentifier, random serial, notBefore backdated one minute.
 * @throws TypeError for an empty commonName, a non-positive ttlMs, a non-finite now or an
 *   unknown curve
 */
export function createTrustAnchor(options: TrustAnchorOptions = {}): GeneratedCa {
  const commonName = options.commonName ?? 'root.linkerd.cluster.local';
  const ttlMs = options.ttlMs ?? 10 * 365 * DAY_MS;
  const now = options.now ?? Date.now();
  checkOptions({ commonName, ttlMs, now });
  const privateKey = newKey(options.curve ?? 'P-256');
  const spki = spkiOf(privateKey);
  const name = commonNameName(commonName);
  const scheme = ecdsaSchemeFor(privateKey, 'trust anchor key');
  const der = signed(scheme, privateKey, {
    issuerName: name,
    subjectName: name,
    spki,
    now,
    ttlMs,
    extensions: [basicConstraints({ ca: true }), keyUsage(CA_KEY_USAGE), subjectKeyIdentifier(keyIdentifier(spki))],
  });
  return generated(der, privateKey);
}

/**
 * An issuer CA signed by `anchor`: CA:TRUE pathlen:0 (critical), keyUsage keyCertSign + cRLSign
 * (critical), subjectKeyIdentifier, authorityKeyIdentifier = the anchor's SKI, random serial,
 * notBefore backdated one minute. Its issuer Name is the anchor's subject, byte for byte.
 * @throws TypeError as {@link createTrustAnchor}, or when the anchor's key is not EC P-256/P-384
 * @throws AgentError `CREDENTIALS_INVALID` when the anchor certificate does not parse
 */
export function createIssuerCa(options: IssuerCaOptions): GeneratedCa {
  const commonName = options.commonName ?? 'identity.linkerd.cluster.local';
  const ttlMs = options.ttlMs ?? 365 * DAY_MS;
  const now = options.now ?? Date.now();
  checkOptions({ commonName, ttlMs, now });
  const anchorScheme = ecdsaSchemeFor(options.anchor.privateKey, 'trust anchor key');
  const anchor = readCertificateInfo(options.anchor.certificateDer);
  const privateKey = newKey(options.curve ?? 'P-256');
  const spki = spkiOf(privateKey);
  const der = signed(anchorScheme, options.anchor.privateKey, {
    issuerName: anchor.subjectDer,
    subjectName: commonNameName(commonName),
    spki,
    now,
    ttlMs,
    extensions: [
      basicConstraints({ ca: true, pathLength: 0 }),
      keyUsage(CA_KEY_USAGE),
      subjectKeyIdentifier(keyIdentifier(spki)),
      authorityKeyIdentifier(anchor.subjectKeyId ?? keyIdentifier(anchor.spkiDer)),
    ],
  });
  return generated(der, privateKey);
}

function signed(
  scheme: EcdsaScheme,
  signingKey: KeyObject,
  f: { issuerName: Buffer; subjectName: Buffer; spki: Buffer; now: number; ttlMs: number; extensions: Buffer[] },
): Buffer {
  const tbs = tbsCertificate({
    serial: randomSerial(),
    scheme,
    issuerName: f.issuerName,
    notBefore: f.now - BACKDATE_MS,
    notAfter: f.now + f.ttlMs,
    subjectName: f.subjectName,
    spki: f.spki,
    extensions: f.extensions,
  });
  return signCertificate(tbs, scheme, signingKey);
}

/**
 * A fresh EC P-256 key for JWT-SVIDs (ES256), as unencrypted PKCS#8 PEM. It is its own key,
 * never a CA key (docs/workload-api.md).
 */
export function createJwtSigningKey(): { privateKeyPem: string } {
  const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
