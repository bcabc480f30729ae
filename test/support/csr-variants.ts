/**
 * Encodings a hostile or unusual client (or CA) may produce: CSRs whose public key is a
 * compressed or hybrid point or carries explicit curve parameters, signed properly so only the
 * key encoding differs; certificates with an explicit `critical FALSE`, which OpenSSL accepts.
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

/** `certificate` with every non-critical extension re-encoded with an explicit `critical FALSE`. */
export function withExplicitFalseCritical(certificate: Buffer): Buffer {
  const [tbs, algorithm, signature] = der.sequenceOf(der.decode(certificate), 'certificate') as [
    der.DerElement,
    der.DerElement,
    der.DerElement,
  ];
  const fields = der.sequenceOf(tbs, 'tbs');
  const extensions = der.sequenceOf(der.childrenOf(fields[fields.length - 1] as der.DerElement)[0], 'extensions').map((ext) => {
    const parts = der.sequenceOf(ext, 'extension');
    return parts.length === 2
      ? der.sequence((parts[0] as der.DerElement).raw, der.boolean(false), (parts[1] as der.DerElement).raw)
      : ext.raw;
  });
  const rebuilt = der.sequence(...fields.slice(0, -1).map((f) => f.raw), der.explicit(3, der.sequence(...extensions)));
  return der.sequence(rebuilt, algorithm.raw, signature.raw);
}
