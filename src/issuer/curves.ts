/**
 * The elliptic curves the issuer knows, in one table: each curve's names (JWK and Node, OpenSSL,
 * OID), how it signs (digest, X.509 signature algorithm, JWS algorithm), and whether it may key a
 * certificate. Certificates (anchors, issuers, leaves) use P-256 or P-384, which the Linkerd proxy
 * (rustls) and every SPIFFE client accept; JWT-SVID keys may also use P-521 (SPIRE does).
 */
import type { KeyObject } from 'node:crypto';
import * as der from './der.js';
import { type EcdsaScheme, OID } from './x509-encoding.js';

/** One NIST curve. */
export interface EcCurve {
  /** JWK `crv`, also what `generateKeyPair('ec', { namedCurve })` takes. */
  readonly jwk: 'P-256' | 'P-384' | 'P-521';
  /** OpenSSL's name, as `asymmetricKeyDetails.namedCurve` reports it. */
  readonly openssl: 'prime256v1' | 'secp384r1' | 'secp521r1';
  /** The curve's OID (RFC 5480 §2.1.1.1). */
  readonly oid: string;
  /** Octets of one coordinate of a point. */
  readonly coordinateLength: number;
  /** The digest its ECDSA signatures use. */
  readonly hash: 'sha256' | 'sha384' | 'sha512';
  /** ecdsa-with-SHAxxx (RFC 5758 §3.2). */
  readonly signatureOid: string;
  /** The JWS algorithm of its keys (RFC 7518 §3.4). */
  readonly jws: 'ES256' | 'ES384' | 'ES512';
  /** May key a certificate: an anchor, an issuer or a leaf. */
  readonly certificates: boolean;
}

export const EC_CURVES: readonly EcCurve[] = [
  {
    jwk: 'P-256',
    openssl: 'prime256v1',
    oid: '1.2.840.10045.3.1.7',
    coordinateLength: 32,
    hash: 'sha256',
    signatureOid: OID.ecdsaWithSha256,
    jws: 'ES256',
    certificates: true,
  },
  {
    jwk: 'P-384',
    openssl: 'secp384r1',
    oid: '1.3.132.0.34',
    coordinateLength: 48,
    hash: 'sha384',
    signatureOid: OID.ecdsaWithSha384,
    jws: 'ES384',
    certificates: true,
  },
  {
    jwk: 'P-521',
    openssl: 'secp521r1',
    oid: '1.3.132.0.35',
    coordinateLength: 66,
    hash: 'sha512',
    signatureOid: OID.ecdsaWithSha512,
    jws: 'ES512',
    certificates: false,
  },
];

/** The curve with OpenSSL name `openssl` (e.g. a key's `asymmetricKeyDetails.namedCurve`), if known. */
export function curveNamed(openssl: string | undefined): EcCurve | undefined {
  return EC_CURVES.find((c) => c.openssl === openssl);
}

/** The curve of an EC key (private or public), if it is one of {@link EC_CURVES}. */
export function curveOf(key: KeyObject): EcCurve | undefined {
  return key.asymmetricKeyType === 'ec' ? curveNamed(key.asymmetricKeyDetails?.namedCurve) : undefined;
}

const SCHEMES: ReadonlyMap<string, EcdsaScheme> = new Map(
  EC_CURVES.filter((c) => c.certificates).map((c) => [
    c.openssl,
    {
      hash: c.hash as EcdsaScheme['hash'],
      namedCurve: c.openssl as EcdsaScheme['namedCurve'],
      algorithmIdentifier: der.sequence(der.oid(c.signatureOid)),
    },
  ]),
);

/**
 * The scheme for a private key that may sign certificates: P-256 → ecdsa-with-SHA256, P-384 →
 * ecdsa-with-SHA384.
 * @throws TypeError naming `role` and the key type for anything else (RSA, Ed25519, P-521, a
 *   public key)
 */
export function ecdsaSchemeFor(key: KeyObject, role: string): EcdsaScheme {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const scheme = key.type === 'private' && key.asymmetricKeyType === 'ec' ? SCHEMES.get(curve ?? '') : undefined;
  if (scheme) return scheme;
  const found = key.type === 'private' ? `${key.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''}` : `${key.type} key`;
  throw new TypeError(`${role} must be an ec p-256 or p-384 private key, found ${found}`);
}
