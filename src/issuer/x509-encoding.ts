/**
 * The X.509 (RFC 5280) and PKCS#10 (RFC 2986) structures the CSR, leaf and CA encoders share:
 * object identifiers, names, extensions, the TBSCertificate and the signed certificate envelope.
 * Everything returns DER built with `der.ts`.
 */
import { hash, type KeyObject, sign } from 'node:crypto';
import * as der from './der.js';

/** Object identifiers, dotted. */
export const OID = {
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  extensionRequest: '1.2.840.113549.1.9.14',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ed25519: '1.3.101.112',
} as const;

const ENCODED_OIDS: ReadonlyMap<string, Buffer> = new Map(Object.values(OID).map((o) => [o, der.oid(o)]));

/** `der.oid(dotted)`, pre-encoded for the identifiers in {@link OID}, which the hot paths use. */
export function encodedOid(dotted: string): Buffer {
  return ENCODED_OIDS.get(dotted) ?? der.oid(dotted);
}

/** How an ECDSA key signs certificates: the digest and the encoded AlgorithmIdentifier (see `curves.ts`). */
export interface EcdsaScheme {
  readonly hash: 'sha256' | 'sha384';
  /** OpenSSL's name of the key's curve. */
  readonly namedCurve: 'prime256v1' | 'secp384r1';
  /** `SEQUENCE { ecdsa-with-SHAxxx }`, parameters absent as RFC 5758 §3.2 requires. */
  readonly algorithmIdentifier: Buffer;
}

/** keyUsage bit positions (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/**
 * RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bits.
 * @throws AgentError `INVALID_REQUEST` (malformed der) when `spki` is not a SubjectPublicKeyInfo
 */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const [algorithm, bits, ...extra] = der.sequenceOf(der.decode(spki), 'subject public key info');
  der.sequenceOf(algorithm, 'public key algorithm');
  if (extra.length > 0) der.malformed('subject public key info has extra fields');
  return hash('sha1', der.readBitString(bits, 'subject public key').bytes, 'buffer');
}

/** A Name holding one RDN, `CN=<commonName>` as a UTF8String. */
export function commonNameName(commonName: string): Buffer {
  return der.sequence(der.set(der.sequence(encodedOid(OID.commonName), der.utf8String(commonName))));
}

/** The empty Name (an empty RDNSequence). */
export const EMPTY_NAME: Buffer = der.sequence();

const TRUE = der.boolean(true);

/** One Extension; `critical` is only encoded when true (DER omits DEFAULT values). */
export function extension(oid: string, value: Uint8Array, options: { critical?: boolean } = {}): Buffer {
  return options.critical
    ? der.sequence(encodedOid(oid), TRUE, der.octetString(value))
    : der.sequence(encodedOid(oid), der.octetString(value));
}

/** basicConstraints, always critical. `pathLength` only for CAs. */
export function basicConstraints(options: { ca: boolean; pathLength?: number }): Buffer {
  const fields: Buffer[] = [];
  // cA DEFAULT FALSE is omitted for end entities, giving the empty SEQUENCE of docs/certificates.md.
  if (options.ca) fields.push(der.boolean(true));
  if (options.ca && options.pathLength !== undefined) fields.push(der.integer(options.pathLength));
  return extension(OID.basicConstraints, der.sequence(...fields), { critical: true });
}

/** keyUsage, always critical, with the given {@link KEY_USAGE} bits. */
export function keyUsage(bits: readonly number[]): Buffer {
  return extension(OID.keyUsage, der.namedBits(bits), { critical: true });
}

/** extKeyUsage (not critical) with the given purpose OIDs. */
export function extKeyUsage(purposes: readonly string[]): Buffer {
  return extension(OID.extKeyUsage, der.sequence(...purposes.map(encodedOid)));
}

/** subjectKeyIdentifier holding `keyId`. */
export function subjectKeyIdentifier(keyId: Uint8Array): Buffer {
  return extension(OID.subjectKeyIdentifier, der.octetString(keyId));
}

/** authorityKeyIdentifier holding only `[0] keyIdentifier`. */
export function authorityKeyIdentifier(keyId: Uint8Array): Buffer {
  return extension(OID.authorityKeyIdentifier, der.sequence(der.implicit(0, keyId)));
}

/** The fields of a v3 TBSCertificate. */
export interface TbsFields {
  /** Unsigned big-endian serial. */
  readonly serial: Uint8Array;
  readonly scheme: EcdsaScheme;
  readonly issuerName: Uint8Array;
  /** ms since the epoch */
  readonly notBefore: number;
  /** ms since the epoch */
  readonly notAfter: number;
  readonly subjectName: Uint8Array;
  readonly spki: Uint8Array;
  /** Encoded Extension elements, in order. */
  readonly extensions: readonly Uint8Array[];
}

const VERSION_3 = der.explicit(0, der.integer(2));

/** Encodes a v3 TBSCertificate (RFC 5280 §4.1). */
export function tbsCertificate(f: TbsFields): Buffer {
  return der.sequence(
    VERSION_3,
    der.integer(f.serial),
    f.scheme.algorithmIdentifier,
    f.issuerName,
    der.sequence(der.time(f.notBefore), der.time(f.notAfter)),
    f.subjectName,
    f.spki,
    der.explicit(3, der.sequence(...f.extensions)),
  );
}

/** Signs `tbs` and wraps it as a Certificate: `SEQUENCE { tbs, algorithm, BIT STRING signature }`. */
export function signCertificate(tbs: Uint8Array, scheme: EcdsaScheme, key: KeyObject): Buffer {
  // node:crypto's ECDSA signatures are DER Ecdsa-Sig-Value, which is what X.509 carries.
  const signature = sign(scheme.hash, tbs, key);
  return der.sequence(tbs, scheme.algorithmIdentifier, der.bitString(signature));
}
