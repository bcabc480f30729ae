/**
 * CSRs whose public key is encoded the ways a hostile or unusual client may encode it (compressed
 * or hybrid points, explicit curve parameters), signed properly so only the key encoding differs.
 */
import { createPrivateKey, createPublicKey, ECDH, type KeyObject, sign } from 'node:crypto';
import * as der from '../../src/issuer/der.js';
import { opensslOk } from './openssl.js';

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES: Record<string, { oid: string; hash: string; signatureOid: string }> = {
  prime256v1: { oid: '1.2.840.10045.3.1.7', hash: 'sha256', signatureOid: '1.2.840.10045.4.3.2' },
  secp384r1: { oid: '1.3.132.0.34', hash: 'sha384', signatureOid: '1.2.840.10045.4.3.3' },
};

/** The uncompressed point of an EC key. */
function pointOf(key: KeyObject): Buffer {
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const [, bits] = der.sequenceOf(der.decode(spki), 'spki');
  return Buffer.from(der.readBitString(bits).bytes);
}

/** The SPKI of a P-256/P-384 key with its point in `form`. */
export function ecSpki(key: KeyObject, form: 'uncompressed' | 'compressed' | 'hybrid'): Buffer {
  const curve = key.asymmetricKeyDetails?.namedCurve as string;
  const point = ECDH.convertKey(pointOf(key), curve, undefined, undefined, form) as Buffer;
  return der.sequence(der.sequence(der.oid(EC_PUBLIC_KEY), der.oid((CURVES[curve] as { oid: string }).oid)), der.bitString(point));
}

/** A CSR carrying `spki` as given, signed by `privateKey` (P-256/P-384), with DNS SANs. */
export function csrWithSpki(privateKey: KeyObject, spki: Buffer, dnsNames: readonly string[]): Buffer {
  const curve = CURVES[privateKey.asymmetricKeyDetails?.namedCurve as string] as { hash: string; signatureOid: string };
  const san = der.sequence(der.oid('2.5.29.17'), der.octetString(der.sequence(...dnsNames.map((n) => der.implicit(2, der.ascii(n))))));
  const attributes = der.implicit(0, der.sequence(der.oid('1.2.840.113549.1.9.14'), der.set(der.sequence(san))), { constructed: true });
  const info = der.sequence(der.integer(0), der.sequence(), spki, attributes);
  return der.sequence(info, der.sequence(der.oid(curve.signatureOid)), der.bitString(sign(curve.hash, info, privateKey)));
}

/** A P-256 private key whose encodings carry explicit curve parameters (made by the openssl CLI). */
export function explicitParametersKey(): KeyObject {
  return createPrivateKey(opensslOk(['ecparam', '-name', 'prime256v1', '-param_enc', 'explicit', '-genkey', '-noout']));
}
