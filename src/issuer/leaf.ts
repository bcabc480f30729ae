/**
 * The X509-SVID leaf profile (docs/certificates.md), encoded directly: everything that is the same for every
 * leaf of one issuer is encoded once in {@link createLeafSigner}, so `sign` only encodes the
 * serial, validity, names, key and key id, then makes one `crypto.sign` call.
 *
 * Profile: v3; empty subject; critical subjectAltName with the DNS name (the Linkerd identity)
 * first, then exactly one URI (the SPIFFE ID); critical basicConstraints CA=false (an empty
 * SEQUENCE); critical keyUsage digitalSignature + keyEncipherment; extKeyUsage serverAuth +
 * clientAuth; subjectKeyIdentifier (SHA-1 of the leaf key bits); authorityKeyIdentifier.
 */
import { sign as createSignature, type KeyObject } from 'node:crypto';
import { AgentError } from '../errors.js';
import { readCertificateInfo } from './cert-info.js';
import { ecdsaSchemeFor } from './curves.js';
import * as der from './der.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  EMPTY_NAME,
  encodedOid,
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
  const fixedExtensionBytes = Buffer.concat(fixedExtensions);
  const skiHeader = subjectKeyIdentifier(Buffer.alloc(20)).subarray(0, -20);
  // extnID subjectAltName and critical TRUE: what precedes the extnValue OCTET STRING.
  const sanHead = Buffer.concat([encodedOid(OID.subjectAltName), der.boolean(true)]);

  return {
    sign(request) {
      const fields = checkRequest(request);
      // RFC 5280 §4.2.1.6: with an empty subject the SAN must be critical. The DNS name comes
      // first: a Linkerd proxy server takes a client's identity from the first SAN
      // (linkerd2-proxy linkerd/meshtls/verifier, `client_identity`); SPIFFE clients find the
      // one URI SAN wherever it is (docs/decisions.md, "SAN order").
      const names = [der.header(0x82, fields.dns.length), fields.dns];
      if (fields.uri) names.push(der.header(0x86, fields.uri.length), fields.uri);
      const namesSequence = der.header(der.TAG.SEQUENCE, byteLength(names));
      const sanValue = der.header(der.TAG.OCTET_STRING, namesSequence.length + byteLength(names));
      const san = [sanHead, sanValue, namesSequence, ...names];
      const sanExtension = der.header(der.TAG.SEQUENCE, byteLength(san));
      const extensions = [sanExtension, ...san, fixedExtensionBytes, skiHeader, fields.keyId, aki];
      const extensionsLength = byteLength(extensions);
      const extensionsSequence = der.header(der.TAG.SEQUENCE, extensionsLength);
      const content = [
        VERSION_3,
        der.integer(request.serial),
        afterSerial,
        der.sequence(der.time(request.notBefore), der.time(request.notAfter)),
        afterValidity,
        request.subjectPublicKeySpki,
        der.header(0xa3, extensionsSequence.length + extensionsLength),
        extensionsSequence,
        ...extensions,
      ];
      const tbs = Buffer.concat([der.header(der.TAG.SEQUENCE, byteLength(content)), ...content]);
      let signature: Buffer;
      try {
        signature = createSignature(scheme.hash, tbs, options.privateKey);
      } catch (cause) {
        throw new AgentError('SIGNING_FAILED', 'signing the leaf certificate failed', { cause });
      }
      // Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING (no unused bits) signature }
      const bitString = der.header(der.TAG.BIT_STRING, signature.length + 1);
      const certificateLength = tbs.length + algorithm.length + bitString.length + 1 + signature.length;
      return Buffer.concat([der.header(der.TAG.SEQUENCE, certificateLength), tbs, algorithm, bitString, NO_UNUSED_BITS, signature]);
    },
  };
}

const VERSION_3 = der.explicit(0, der.integer(2));
const NO_UNUSED_BITS = Buffer.of(0);
/** The first and last instants an X.509 time holds (years 0-9999). */
const FIRST_TIME = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_TIME = Date.parse('9999-12-31T23:59:59.999Z');

function byteLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

function cannotSign(message: string, cause?: unknown): never {
  throw new AgentError('SIGNING_FAILED', message, cause === undefined ? undefined : { cause });
}

/** Checks everything `sign` encodes, so a bad request fails with a reason, not a stray TypeError. */
function checkRequest(r: LeafRequest): { uri: Buffer | undefined; dns: Buffer; keyId: Buffer } {
  const serial = r.serial;
  if (!(serial instanceof Uint8Array) || serial.length === 0 || serial.length > 20 || serial.every((b) => b === 0)) {
    cannotSign('leaf serial must be 1-20 octets and not zero');
  }
  // An integer() pad octet would make a 20-octet serial 21 octets, over RFC 5280's limit.
  if (serial.length === 20 && (serial[0] as number) & 0x80) cannotSign('leaf serial must fit in 20 octets');
  if (!Number.isFinite(r.notBefore) || !Number.isFinite(r.notAfter) || r.notAfter < r.notBefore) {
    cannotSign('leaf validity must be finite with notAfter not before notBefore');
  }
  // der.time() holds years 0-9999; checked here rather than by encoding the times twice.
  if (r.notBefore < FIRST_TIME || r.notAfter > LAST_TIME) cannotSign('leaf validity is outside the years x.509 can hold');
  const uri = r.spiffeId === undefined ? undefined : ia5Name(r.spiffeId, 'spiffe id');
  const dns = ia5Name(r.dnsName, 'dns name');
  if (!(r.subjectPublicKeySpki instanceof Uint8Array)) cannotSign('leaf public key is not a subject public key info');
  let keyId: Buffer;
  try {
    keyId = keyIdentifier(r.subjectPublicKeySpki);
  } catch (cause) {
    return cannotSign('leaf public key is not a subject public key info', cause);
  }
  return { uri, dns, keyId };
}

function ia5Name(value: unknown, what: string): Buffer {
  if (typeof value !== 'string' || value === '' || !/^[\x21-\x7e]+$/.test(value)) {
    cannotSign(`leaf ${what} must be a non-empty printable ascii string`);
  }
  return Buffer.from(value, 'latin1');
}
