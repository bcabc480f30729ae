/**
 * The X509-SVID leaf profile (docs/certificates.md), encoded directly: everything that is the same for every
 * leaf of one issuer is encoded once in {@link createLeafSigner}; `sign` works out the lengths,
 * writes the TBSCertificate into one buffer (`der-writer.ts`), makes one `crypto.sign` call and
 * writes the certificate into one more. The SAN extension and the validity are reused while they
 * repeat (docs/performance.md, "Issuance").
 *
 * Profile: v3; empty subject; critical subjectAltName with the DNS name (the Linkerd identity)
 * first, then exactly one URI (the SPIFFE ID); critical basicConstraints CA=false (an empty
 * SEQUENCE); critical keyUsage digitalSignature + keyEncipherment; extKeyUsage serverAuth +
 * clientAuth; subjectKeyIdentifier (SHA-1 of the leaf key bits); authorityKeyIdentifier.
 */
import { sign as createSignature, hash, type KeyObject } from 'node:crypto';
import { AgentError } from '../errors.js';
import { readCertificateInfo } from './cert-info.js';
import { ecdsaSchemeFor } from './curves.js';
import * as der from './der.js';
import { ecSpkiPoint } from './ec-keys.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  EMPTY_NAME,
  extension,
  extKeyUsage,
  KEY_USAGE,
  keyIdentifier,
  keyUsage,
  OID,
  subjectKeyIdentifier,
} from './x509-encoding.js';

/** Options of {@link createLeafSigner}. */
export interface LeafSignerOptions {
  /** The issuer's certificate (DER). Its subject becomes the leaves' issuer, byte for byte. */
  readonly certificateDer: Uint8Array;
  /** The issuer's private key: EC P-256 (leaves signed ecdsa-with-SHA256) or P-384 (SHA-384). */
  readonly privateKey: KeyObject;
}

/** What varies per leaf. */
export interface LeafRequest {
  /** Unsigned big-endian serial, 1-20 octets, not zero (see `randomSerial`). */
  readonly serial: Uint8Array;
  /** ms since the epoch; sub-second precision is dropped. */
  readonly notBefore: number;
  /** ms since the epoch, not before `notBefore`. The caller clamps it to the issuer chain. */
  readonly notAfter: number;
  /** DER SubjectPublicKeyInfo of the leaf key (the caller checks it is EC P-256/P-384). */
  readonly subjectPublicKeySpki: Uint8Array;
  /**
   * The URI SAN, second, e.g. `spiffe://cluster.local/ns/web/sa/default` (ASCII). Absent only for
   * a certificate that is no SVID: the central issuer's TLS certificate for a name no account has.
   */
  readonly spiffeId?: string;
  /** The DNS SAN, first, e.g. `default.web.serviceaccount.identity.linkerd.cluster.local` (ASCII). */
  readonly dnsName: string;
}

/** Signs leaves for one issuer. */
export interface LeafSigner {
  /**
   * Returns the DER leaf certificate.
   * @throws AgentError `SIGNING_FAILED` for a request it cannot encode (bad serial, validity,
   *   names or public key), with the reason in the message, or when signing fails
   */
  sign(request: LeafRequest): Buffer;
}

/**
 * Prepares a signer for one issuer.
 * @throws TypeError when the key is not an EC P-256/P-384 private key (naming the key type found)
 *   or does not belong to the certificate
 * @throws AgentError `CREDENTIALS_INVALID` when the certificate does not parse
 */
export function createLeafSigner(options: LeafSignerOptions): LeafSigner {
  const scheme = ecdsaSchemeFor(options.privateKey, 'issuer key');
  const issuer = readCertificateInfo(options.certificateDer);
  if (!issuer.x509.checkPrivateKey(options.privateKey)) {
    throw new TypeError('issuer key does not match the issuer certificate');
  }
  // RFC 5280 §4.2.1.1: the AKI carries the issuer's SKI; a certificate without one gets the
  // SKI it would have had under method (1).
  const issuerKeyId = issuer.subjectKeyId ?? keyIdentifier(issuer.spkiDer);
  const fixedExtensions = [
    basicConstraints({ ca: false }),
    keyUsage([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]),
    extKeyUsage([OID.serverAuth, OID.clientAuth]),
  ];
  const aki = authorityKeyIdentifier(issuerKeyId);
  // The constant runs of every leaf's TBSCertificate, so that `sign` copies each byte once.
  const algorithm = scheme.algorithmIdentifier;
  const afterSerial = Buffer.concat([algorithm, issuer.subjectDer]);
  const afterValidity = EMPTY_NAME;
  // The extensions after the SAN, up to the subjectKeyIdentifier's key id.
  const beforeKeyId = Buffer.concat([...fixedExtensions, subjectKeyIdentifier(Buffer.alloc(KEY_ID_LENGTH)).subarray(0, -KEY_ID_LENGTH)]);
  // Identities repeat at every rotation, and leaves signed within one second share their validity.
  const sanFor = lastUsed(subjectAltName);
  const validityFor = lastUsed((notBefore: number, notAfter: number) => der.sequence(der.time(notBefore), der.time(notAfter)));

  return {
    sign(request) {
      checkRequest(request);
      const san = sanFor(request.dnsName, request.spiffeId);
      const keyId = keyIdOf(request.subjectPublicKeySpki);
      const validity = validityFor(wholeSeconds(request.notBefore), wholeSeconds(request.notAfter));
      const spki = request.subjectPublicKeySpki;
      // Lengths inside out, then one pass writing the TBSCertificate front to back.
      const extensionsLength = san.length + beforeKeyId.length + KEY_ID_LENGTH + aki.length;
      const extensionsSequenceLength = der.tlvLength(extensionsLength);
      const tbsLength =
        VERSION_3.length +
        der.tlvLength(der.unsignedIntegerLength(request.serial)) +
        afterSerial.length +
        validity.length +
        afterValidity.length +
        spki.length +
        der.tlvLength(extensionsSequenceLength);
      const tbs = new der.DerWriter(der.tlvLength(tbsLength))
        .header(der.TAG.SEQUENCE, tbsLength)
        .bytes(VERSION_3)
        .unsignedInteger(request.serial)
        .bytes(afterSerial)
        .bytes(validity)
        .bytes(afterValidity)
        .bytes(spki)
        .header(EXTENSIONS_TAG, extensionsSequenceLength)
        .header(der.TAG.SEQUENCE, extensionsLength)
        .bytes(san)
        .bytes(beforeKeyId)
        .latin1(keyId)
        .bytes(aki)
        .finish();
      let signature: Buffer;
      try {
        signature = createSignature(scheme.hash, tbs, options.privateKey);
      } catch (cause) {
        throw new AgentError('SIGNING_FAILED', 'signing the leaf certificate failed', { cause });
      }
      // Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING (no unused bits) signature }
      const bitStringLength = 1 + signature.length;
      const certificateLength = tbs.length + algorithm.length + der.tlvLength(bitStringLength);
      return new der.DerWriter(der.tlvLength(certificateLength))
        .header(der.TAG.SEQUENCE, certificateLength)
        .bytes(tbs)
        .bytes(algorithm)
        .header(der.TAG.BIT_STRING, bitStringLength)
        .byte(NO_UNUSED_BITS)
        .bytes(signature)
        .finish();
    },
  };
}

const VERSION_3 = der.explicit(0, der.integer(2));
/** `[3] EXPLICIT Extensions` in a TBSCertificate. */
const EXTENSIONS_TAG = 0xa3;
const NO_UNUSED_BITS = 0;
/** Octets of a key identifier: a SHA-1. */
const KEY_ID_LENGTH = 20;
/** The first and last instants an X.509 time holds (years 0-9999). */
const FIRST_TIME = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

/** ms since the epoch, rounded down to the second an X.509 time holds. */
function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** `encode` with a memory of one: called again only when an argument differs (`!==`) from the last call's. */
function lastUsed<A, B>(encode: (a: A, b: B) => Buffer): (a: A, b: B) => Buffer {
  let last: { readonly a: A; readonly b: B; readonly encoded: Buffer } | undefined;
  return (a, b) => {
    if (last === undefined || last.a !== a || last.b !== b) last = { a, b, encoded: encode(a, b) };
    return last.encoded;
  };
}

/**
 * The critical subjectAltName: RFC 5280 §4.2.1.6 requires it critical with an empty subject. The
 * DNS name comes first: a Linkerd proxy server takes a client's identity from the first SAN
 * (linkerd2-proxy linkerd/meshtls/verifier, `client_identity`); SPIFFE clients find the one URI
 * SAN wherever it is (docs/decisions.md, "SAN order").
 */
function subjectAltName(dnsName: string, spiffeId: string | undefined): Buffer {
  const names = [der.implicit(2, ia5Name(dnsName, 'dns name'))];
  if (spiffeId !== undefined) names.push(der.implicit(6, ia5Name(spiffeId, 'spiffe id')));
  return extension(OID.subjectAltName, der.sequence(...names), { critical: true });
}

/**
 * RFC 5280 §4.2.1.2 method (1), the SHA-1 of the key bits, as a latin1 string (one character per
 * octet): V8 makes a short string for about half what a Buffer with memory of its own costs. The
 * SPKI of a NIST EC key (every workload key) is recognised by its fixed prefix; anything else is
 * decoded.
 */
function keyIdOf(spki: Uint8Array): string {
  const ec = ecSpkiPoint(spki);
  // 'binary' is Node's other name for latin1.
  if (ec) return hash('sha1', ec.point, 'binary');
  try {
    return keyIdentifier(spki).toString('latin1');
  } catch (cause) {
    return cannotSign('leaf public key is not a subject public key info', cause);
  }
}

function cannotSign(message: string, cause?: unknown): never {
  throw new AgentError('SIGNING_FAILED', message, cause === undefined ? undefined : { cause });
}

/**
 * Checks the serial, validity and key `sign` encodes, so a bad request fails with a reason, not a
 * stray TypeError; the names are checked when their extension is encoded ({@link subjectAltName}).
 */
function checkRequest(r: LeafRequest): void {
  const serial = r.serial;
  if (!(serial instanceof Uint8Array) || serial.length === 0 || serial.length > 20 || serial.every((b) => b === 0)) {
    cannotSign('leaf serial must be 1-20 octets and not zero');
  }
  // An INTEGER pad octet would make a 20-octet serial 21 octets, over RFC 5280's limit.
  if (serial.length === 20 && (serial[0] as number) & 0x80) cannotSign('leaf serial must fit in 20 octets');
  if (!Number.isFinite(r.notBefore) || !Number.isFinite(r.notAfter) || r.notAfter < r.notBefore) {
    cannotSign('leaf validity must be finite with notAfter not before notBefore');
  }
  // der.time() holds years 0-9999; checked here rather than by encoding the times twice.
  if (r.notBefore < FIRST_TIME || r.notAfter > LAST_TIME) cannotSign('leaf validity is outside the years x.509 can hold');
  if (!(r.subjectPublicKeySpki instanceof Uint8Array)) cannotSign('leaf public key is not a subject public key info');
}

function ia5Name(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || value === '' || !/^[\x21-\x7e]+$/.test(value)) {
    cannotSign(`leaf ${what} must be a non-empty printable ascii string`);
  }
  return Buffer.from(value, 'latin1');
}
