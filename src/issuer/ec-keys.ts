/**
 * EC key encodings without OpenSSL's slow encoders: the SubjectPublicKeyInfo and PKCS#8 of a
 * private key from one SEC1 export, and public keys read back from an SPKI (docs/performance.md).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { EC_CURVES, type EcCurve } from './curves.js';
import * as der from './der.js';
import { OID } from './x509-encoding.js';

/** A curve of {@link EC_CURVES} with its SPKI pieces. */
export interface SpkiShape extends EcCurve {
  /** `SEQUENCE { id-ecPublicKey, namedCurve }`. */
  readonly algorithmIdentifier: Buffer;
  /** The DER of an SPKI with an uncompressed point, up to and including the point's 0x04. */
  readonly spkiPrefix: Buffer;
}

const SPKI_SHAPES: readonly SpkiShape[] = EC_CURVES.map((curve) => {
  const algorithmIdentifier = der.sequence(der.oid(OID.ecPublicKey), der.oid(curve.oid));
  const point = Buffer.alloc(1 + 2 * curve.coordinateLength);
  point[0] = 0x04;
  // Everything up to and including the 0x04 of an uncompressed point; only x and y follow.
  const spkiPrefix = der.sequence(algorithmIdentifier, der.bitString(point)).subarray(0, -2 * curve.coordinateLength);
  return { ...curve, algorithmIdentifier, spkiPrefix };
});

/** The curve of {@link EC_CURVES} (P-256, P-384, P-521) whose dotted OID is `oid`, with its SPKI pieces. */
export function nistCurveByOid(oid: string): SpkiShape | undefined {
  return SPKI_SHAPES.find((c) => c.oid === oid);
}

/** The curve of an EC private key by OpenSSL name, when it is one of {@link EC_CURVES}. */
function nistCurveOf(key: KeyObject, namedCurve: string | undefined) {
  // asymmetricKeyDetails builds a new object on every read, so callers that know the curve pass it.
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ec') return undefined;
  const name = namedCurve ?? key.asymmetricKeyDetails?.namedCurve;
  return name === undefined ? undefined : SPKI_SHAPES.find((c) => c.openssl === name);
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
    return encodingsOfSec1(sec1, curve.openssl);
  } finally {
    sec1.fill(0);
  }
}

/**
 * {@link ecKeyEncodings} from a SEC1 DER private key (RFC 5915) on the curve OpenSSL calls
 * `namedCurve`, e.g. what `generateKeyPairSync` returns with `privateKeyEncoding: sec1`.
 * @returns `undefined` when the curve is not one of {@link EC_CURVES} or the key carries no
 *   uncompressed public point
 */
function encodingsOfSec1(sec1: Buffer, namedCurve: string): { spki: Buffer; pkcs8: Buffer } | undefined {
  if (namedCurve === 'prime256v1') {
    const fast = p256Encodings(sec1);
    if (fast) return fast;
  }
  const curve = SPKI_SHAPES.find((c) => c.openssl === namedCurve);
  if (!curve) return undefined;
  const fields = der.sequenceOf(der.decode(sec1), 'ec private key');
  const point = publicPointOf(fields, 1 + 2 * curve.coordinateLength);
  if (!point) return undefined;
  const inner = der.sequence(...fields.filter((el) => el.tag !== 0xa0).map((el) => el.raw));
  return {
    spki: der.sequence(curve.algorithmIdentifier, der.bitString(point)),
    pkcs8: der.sequence(der.integer(0), curve.algorithmIdentifier, der.octetString(inner)),
  };
}

/**
 * The fixed pieces of P-256 keys as OpenSSL writes them (RFC 5915, RFC 5208, RFC 5480): a SEC1
 * key is `HEAD private(32) MIDDLE point(65)`, its PKCS#8 `HEAD private(32) [1]-header point(65)`,
 * its SPKI `HEAD point(65)`. Every workload key is P-256, so its encodings are assembled from
 * these in two allocations instead of a DER decode and re-encode.
 */
const P256 = {
  sec1Head: Buffer.from('30770201010420', 'hex'),
  sec1Middle: Buffer.from('a00a06082a8648ce3d030107a144034200', 'hex'),
  pkcs8Head: Buffer.from('308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420', 'hex'),
  pkcs8Middle: Buffer.from('a144034200', 'hex'),
  spkiHead: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
} as const;

function p256Encodings(sec1: Buffer): { spki: Buffer; pkcs8: Buffer } | undefined {
  if (sec1.length !== 121 || sec1[56] !== 0x04) return undefined;
  if (!holdsAt(sec1, 0, P256.sec1Head) || !holdsAt(sec1, 39, P256.sec1Middle)) return undefined;
  return p256EncodingsOfParts(sec1.subarray(7, 39), sec1.subarray(56));
}

/** Octets of a P-256 private scalar, as SEC1 writes it (RFC 5915: ceiling(log2(n) / 8)). */
const P256_SCALAR_BYTES = 32;

/**
 * The SPKI and the PKCS#8 of a P-256 key given as its raw parts, what `crypto.ECDH` hands out:
 * the private scalar, big-endian, which may be shorter than 32 octets (Node drops leading zero
 * octets: one key in 256), and the uncompressed public point (65 octets, `0x04 x y`).
 * @returns `undefined` when the parts are not of those lengths
 */
export function p256EncodingsOfParts(scalar: Uint8Array, point: Uint8Array): { spki: Buffer; pkcs8: Buffer } | undefined {
  if (scalar.length === 0 || scalar.length > P256_SCALAR_BYTES || point.length !== 65 || point[0] !== 0x04) return undefined;
  const pkcs8 = Buffer.allocUnsafe(138);
  pkcs8.set(P256.pkcs8Head);
  let at = P256.pkcs8Head.length;
  // Left-padded with zeros to the curve's length: SEC1 fixes it, and strict readers check it.
  const pad = P256_SCALAR_BYTES - scalar.length;
  pkcs8.fill(0, at, at + pad);
  pkcs8.set(scalar, at + pad);
  at += P256_SCALAR_BYTES;
  pkcs8.set(P256.pkcs8Middle, at);
  pkcs8.set(point, at + P256.pkcs8Middle.length);
  return { spki: Buffer.concat([P256.spkiHead, point], 91), pkcs8 };
}

/**
 * Whether `bytes` holds `expected` at offset `at`. A loop: for the few dozen octets of a key
 * encoding's fixed parts it costs less than a call into C++ (`Buffer.compare`) on the issuance path.
 */
function holdsAt(bytes: Uint8Array, at: number, expected: Uint8Array): boolean {
  if (at + expected.length > bytes.length) return false;
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
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
 * The uncompressed point (`04 || x || y`, the subjectPublicKey bits) of a NIST EC key's DER
 * SubjectPublicKeyInfo as RFC 5480 writes it (named curve), found by comparing the fixed prefix
 * instead of decoding: such an SPKI is well-formed DER by construction.
 * @returns the point as a view into `spki`, or `undefined` for any other SPKI (or bytes)
 */
export function ecSpkiPoint(spki: Uint8Array): { readonly curve: SpkiShape; readonly point: Buffer } | undefined {
  for (const curve of SPKI_SHAPES) {
    const at = curve.spkiPrefix.length;
    if (spki.length === at + 2 * curve.coordinateLength && holdsAt(spki, 0, curve.spkiPrefix)) {
      return { curve, point: Buffer.from(spki.buffer, spki.byteOffset + at - 1, 1 + 2 * curve.coordinateLength) };
    }
  }
  return undefined;
}

/**
 * The public key in a DER SubjectPublicKeyInfo. NIST EC keys with an uncompressed point are
 * imported as JWK, which is about 1.5 times as fast as OpenSSL 3's DER decoder and checks the point
 * is on the curve just the same; anything else goes to the DER decoder.
 * @throws whatever `crypto.createPublicKey` throws for a key it cannot read
 */
export function publicKeyFromSpki(spki: Buffer): KeyObject {
  const ec = ecSpkiPoint(spki);
  if (ec) {
    const { coordinateLength, jwk } = ec.curve;
    const x = ec.point.subarray(1, 1 + coordinateLength).toString('base64url');
    const y = ec.point.subarray(1 + coordinateLength).toString('base64url');
    return createPublicKey({ key: { kty: 'EC', crv: jwk, x, y }, format: 'jwk' });
  }
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
