/**
 * The X509-SVID leaf profile (SPEC §3), encoded directly: everything that is the same for every
 * leaf of one issuer is encoded once in {@link createLeafSigner}, so `sign` only encodes the
 * serial, validity, names, key and key id, then makes one `crypto.sign` call.
 *
 * Profile: v3; empty subject; critical subjectAltName with the DNS name (the Linkerd identity)
 * first, then exactly one URI (the SPIFFE ID); critical basicConstraints CA=false (an empty
 * SEQUENCE); critical keyUsage digitalSignature + keyEncipherment; extKeyUsage serverAuth +
 * clientAuth; subjectKeyIdentifier (SHA-1 of the leaf key bits); authorityKeyIdentifier.
 */
import type { KeyObject } from 'node:crypto';
import { AgentError } from '../errors.js';
import { readCertificateInfo } from './cert-info.js';
import { ecdsaSchemeFor } from './curves.js';
import * as der from './der.js';
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
  signCertificate,
  subjectKeyIdentifier,
  tbsCertificate,
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
  /** The URI SAN, second, e.g. `spiffe://cluster.local/ns/web/sa/default` (ASCII). */
  readonly spiffeId: string;
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

  return {
    sign(request) {
      const fields = checkRequest(request);
      const tbs = tbsCertificate({
        serial: request.serial,
        scheme,
        issuerName: issuer.subjectDer,
        notBefore: request.notBefore,
        notAfter: request.notAfter,
        subjectName: EMPTY_NAME,
        spki: request.subjectPublicKeySpki,
        // RFC 5280 §4.2.1.6: with an empty subject the SAN must be critical. The DNS name comes
        // first: a Linkerd proxy server takes a client's identity from the first SAN
        // (linkerd2-proxy linkerd/meshtls/verifier, `client_identity`); SPIFFE clients find the
        // one URI SAN wherever it is (docs/decisions.md, "SAN order").
        extensions: [
          extension(OID.subjectAltName, der.sequence(der.implicit(2, fields.dns), der.implicit(6, fields.uri)), {
            critical: true,
          }),
          ...fixedExtensions,
          subjectKeyIdentifier(fields.keyId),
          aki,
        ],
      });
      try {
        return signCertificate(tbs, scheme, options.privateKey);
      } catch (cause) {
        throw new AgentError('SIGNING_FAILED', 'signing the leaf certificate failed', { cause });
      }
    },
  };
}

function cannotSign(message: string, cause?: unknown): never {
  throw new AgentError('SIGNING_FAILED', message, cause === undefined ? undefined : { cause });
}

/** Checks everything `sign` encodes, so a bad request fails with a reason, not a stray TypeError. */
function checkRequest(r: LeafRequest): { uri: Buffer; dns: Buffer; keyId: Buffer } {
  const serial = r.serial;
  if (!(serial instanceof Uint8Array) || serial.length === 0 || serial.length > 20 || serial.every((b) => b === 0)) {
    cannotSign('leaf serial must be 1-20 octets and not zero');
  }
  // An integer() pad octet would make a 20-octet serial 21 octets, over RFC 5280's limit.
  if (serial.length === 20 && (serial[0] as number) & 0x80) cannotSign('leaf serial must fit in 20 octets');
  if (!Number.isFinite(r.notBefore) || !Number.isFinite(r.notAfter) || r.notAfter < r.notBefore) {
    cannotSign('leaf validity must be finite with notAfter not before notBefore');
  }
  try {
    der.time(r.notBefore);
    der.time(r.notAfter);
  } catch (cause) {
    cannotSign('leaf validity is outside the years x.509 can hold', cause);
  }
  const uri = ia5Name(r.spiffeId, 'spiffe id');
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
