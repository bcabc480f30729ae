/**
 * Pieces of X.509 (RFC 5280) and PKCS#10 (RFC 2986) shared by the CSR, leaf and CA encoders:
 * object identifiers, ECDSA signature schemes, names, extensions and the certificate envelope.
 * Everything returns DER built with `der.ts`.
 */
import { createHash, createPublicKey, type KeyObject, sign } from 'node:crypto';
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

/** keyUsage bit positions (RFC 5280 §4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

/** How an ECDSA key signs: the digest and the encoded AlgorithmIdentifier. */
export interface EcdsaScheme {
  readonly hash: 'sha256' | 'sha384';
  /** OpenSSL's name of the key's curve. */
  readonly namedCurve: 'prime256v1' | 'secp384r1';
  /** `SEQUENCE { ecdsa-with-SHAxxx }`, parameters absent as RFC 5758 §3.2 requires. */
  readonly algorithmIdentifier: Buffer;
}

const P256: EcdsaScheme = { hash: 'sha256', namedCurve: 'prime256v1', algorithmIdentifier: der.sequence(der.oid(OID.ecdsaWithSha256)) };
const P384: EcdsaScheme = { hash: 'sha384', namedCurve: 'secp384r1', algorithmIdentifier: der.sequence(der.oid(OID.ecdsaWithSha384)) };

/**
 * The scheme for an EC private key: P-256 → ecdsa-with-SHA256, P-384 → ecdsa-with-SHA384.
 * @throws TypeError naming `role` and the key type for anything else (RSA, Ed25519, P-521, a
 *   public key)
 */
export function ecdsaSchemeFor(key: KeyObject, role: string): EcdsaScheme {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.type === 'private' && key.asymmetricKeyType === 'ec') {
    if (curve === 'prime256v1') return P256;
    if (curve === 'secp384r1') return P384;
  }
  const found = key.type === 'private' ? `${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''}` : `${key.type} key`;
  throw new TypeError(`${role} must be an ec p-256 or p-384 private key, found ${found}`);
}

/** A NIST curve: its JWK and OpenSSL names, OID, and the DER of an SPKI up to the point's x. */
export interface NistCurve {
  readonly jwk: string;
  readonly openssl: string;
  readonly oid: string;
  readonly coordinateLength: number;
  /** `SEQUENCE { id-ecPublicKey, namedCurve }`. */
  readonly algorithmIdentifier: Buffer;
  readonly spkiPrefix: Buffer;
}

/** NIST curves by JWK name: OpenSSL's name and the curve OID (RFC 5480 §2.1.1.1). */
const EC_CURVES: readonly NistCurve[] = [
  { jwk: 'P-256', openssl: 'prime256v1', oid: '1.2.840.10045.3.1.7', coordinateLength: 32 },
  { jwk: 'P-384', openssl: 'secp384r1', oid: '1.3.132.0.34', coordinateLength: 48 },
  { jwk: 'P-521', openssl: 'secp521r1', oid: '1.3.132.0.35', coordinateLength: 66 },
].map((c) => {
  const algorithmIdentifier = der.sequence(der.oid(OID.ecPublicKey), der.oid(c.oid));
  const point = Buffer.alloc(1 + 2 * c.coordinateLength);
  point[0] = 0x04;
  // Everything up to and including the 0x04 of an uncompressed point; only x and y follow.
  const spkiPrefix = der.sequence(algorithmIdentifier, der.bitString(point)).subarray(0, -2 * c.coordinateLength);
  return { ...c, algorithmIdentifier, spkiPrefix };
});

/** The NIST curve (P-256, P-384, P-521) whose dotted OID is `oid`, if it is one. */
export function nistCurveByOid(oid: string): NistCurve | undefined {
  return EC_CURVES.find((c) => c.oid === oid);
}

/** The NIST curve of an EC private key by OpenSSL name, when it is one of {@link EC_CURVES}. */
function nistCurveOf(key: KeyObject, namedCurve: string | undefined) {
  // asymmetricKeyDetails builds a new object on every read, so callers that know the curve pass it.
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec') return undefined;
  const name = namedCurve ?? key.asymmetricKeyDetails?.namedCurve;
  return name === undefined ? undefined : EC_CURVES.find((c) => c.openssl === name);
}

/**
 * The SubjectPublicKeyInfo and the unencrypted PKCS#8 of a NIST EC private key, both from one
 * SEC1 export (`i2d_ECPrivateKey`, ~15 µs; OpenSSL 3's SPKI encoder costs ~150 µs and its PKCS#8
 * encoder 70-110 µs). Not from a JWK export, though that is as fast: on Node 20, exporting a JWK
 * from a key made by `generateKeyPairSync` can deadlock the process when a garbage collection
 * frees the key-generation job during the export (reproduced on 20.20.2; docs/performance.md).
 *
 * The SPKI is RFC 5480's (named curve, uncompressed point). The PKCS#8 is byte for byte what
 * `export({ type: 'pkcs8' })` makes: the inner ECPrivateKey keeps version, private key and public
 * key and drops the `[0]` curve parameters, as OpenSSL writes it (strict readers such as ring
 * refuse the parameters there). Tests check both against Node's own exports.
 * @returns `undefined` for any other key (RSA, Ed25519, a public key)
 */
export function ecKeyEncodings(key: KeyObject, namedCurve?: string): { spki: Buffer; pkcs8: Buffer } | undefined {
  const curve = nistCurveOf(key, namedCurve);
  if (!curve) return undefined;
  const sec1 = key.export({ type: 'sec1', format: 'der' });
  try {
    const fields = der.sequenceOf(der.decode(sec1), 'ec private key');
    const point = publicPointOf(fields, 1 + 2 * curve.coordinateLength);
    if (!point) return undefined;
    const inner = der.sequence(...fields.filter((el) => el.tag !== 0xa0).map((el) => el.raw));
    return {
      spki: der.sequence(curve.algorithmIdentifier, der.bitString(point)),
      pkcs8: der.sequence(der.integer(0), curve.algorithmIdentifier, der.octetString(inner)),
    };
  } finally {
    sec1.fill(0);
  }
}

/**
 * The DER SubjectPublicKeyInfo of a key (public, or the public half of a private key); for NIST
 * EC private keys from a SEC1 export ({@link ecKeyEncodings}). `namedCurve`, OpenSSL's name of an
 * EC key's curve, saves looking it up when already known.
 */
export function spkiOf(key: KeyObject, namedCurve?: string): Buffer {
  const encoded = ecKeyEncodings(key, namedCurve);
  if (encoded) {
    encoded.pkcs8.fill(0);
    return encoded.spki;
  }
  return (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
}

/**
 * Unencrypted PKCS#8 DER (RFC 5208) of a private key, as `export({ type: 'pkcs8' })` makes it;
 * for NIST EC keys from a SEC1 export ({@link ecKeyEncodings}).
 */
export function pkcs8Of(key: KeyObject, namedCurve?: string): Buffer {
  return ecKeyEncodings(key, namedCurve)?.pkcs8 ?? key.export({ type: 'pkcs8', format: 'der' });
}

/** The `[1] publicKey` of an RFC 5915 ECPrivateKey's fields when it is an uncompressed point, copied. */
function publicPointOf(fields: readonly der.DerElement[], pointLength: number): Buffer | undefined {
  const field = fields.find((el) => el.tag === 0xa1);
  if (!field) return undefined;
  const { unusedBits, bytes } = der.readBitString(der.childrenOf(field)[0], 'ec public key');
  return unusedBits === 0 && bytes.length === pointLength && bytes[0] === 0x04 ? Buffer.from(bytes) : undefined;
}

/**
 * The public key in a DER SubjectPublicKeyInfo. NIST EC keys with an uncompressed point are
 * imported as JWK, which is about 1.5 times as fast as OpenSSL 3's DER decoder and checks the point
 * is on the curve just the same; anything else goes to the DER decoder.
 * @throws whatever `crypto.createPublicKey` throws for a key it cannot read
 */
export function publicKeyFromSpki(spki: Buffer): KeyObject {
  const curve = EC_CURVES.find(
    (c) => spki.length === c.spkiPrefix.length + 2 * c.coordinateLength && spki.subarray(0, c.spkiPrefix.length).equals(c.spkiPrefix),
  );
  if (curve) {
    const at = curve.spkiPrefix.length;
    const x = spki.subarray(at, at + curve.coordinateLength).toString('base64url');
    const y = spki.subarray(at + curve.coordinateLength).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: curve.jwk, x, y }, format: 'jwk' });
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

/**
 * RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bits.
 * @throws AgentError `INVALID_REQUEST` (malformed der) when `spki` is not a SubjectPublicKeyInfo
 */
export function keyIdentifier(spki: Uint8Array): Buffer {
  const [algorithm, bits, ...extra] = der.sequenceOf(der.decode(spki), 'subject public key info');
  der.sequenceOf(algorithm, 'public key algorithm');
  if (extra.length > 0) der.malformed('subject public key info has extra fields');
  return createHash('sha1').update(der.readBitString(bits, 'subject public key').bytes).digest();
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
  // cA DEFAULT FALSE is omitted for end entities, giving the empty SEQUENCE of SPEC §3.
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
