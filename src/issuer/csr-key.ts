/**
 * The CSR's public key as a leaf will carry it (issue 15). A leaf copies the key bytes it is given,
 * and Go's x509 and rustls read only named-curve keys with uncompressed points (RFC 5480 §2.2
 * makes uncompressed the one form that MUST be supported). Linkerd never copies bytes: Go's
 * `x509.ParseCertificateRequest` refuses other encodings (`parsePublicKey`: "invalid ECDSA
 * parameters", `ecdsa.ParseUncompressedPublicKey`), and `CreateCertificate` re-marshals the key.
 * We re-encode a compressed (or hybrid) point as uncompressed, since it is the same key, and refuse
 * explicit curve parameters, which name no curve a client can rely on.
 */
import { ECDH } from 'node:crypto';
import { AgentError } from '../errors.js';
import * as der from './der.js';
import { nistCurveByOid } from './ec-keys.js';
import { OID } from './x509-encoding.js';

const UNCOMPRESSED = 0x04;

/**
 * `spki` with an EC key re-encoded as RFC 5480 wants it: the curve named by OID, the point
 * uncompressed. Other key types (RSA, Ed25519) and curves other than P-256/384/521 are returned as
 * given (the same Buffer); Certify refuses them later with Linkerd's "CSR must contain an ECDSA ...
 * public key". A NIST EC key comes back in a Buffer of its own.
 * @throws AgentError `CSR_REJECTED` when the key carries explicit curve parameters (or NULL, implicitlyCA)
 * @throws AgentError `INVALID_REQUEST` (malformed der) when `spki` is not an SPKI, or the point
 *   is not on its curve
 */
export function canonicalSpki(spki: Buffer): Buffer {
  const [algorithm, bits, ...extra] = der.sequenceOf(der.decode(spki), 'subject public key info');
  if (extra.length > 0) der.malformed('subject public key info has extra fields');
  const [type, parameters] = der.sequenceOf(algorithm, 'public key algorithm');
  if (der.readOid(type, 'public key algorithm') !== OID.ecPublicKey) return spki;
  // ECParameters (a SEQUENCE) or implicitlyCA (NULL) instead of a namedCurve (RFC 5480 §2.1.1).
  if (parameters?.tag === der.TAG.SEQUENCE || parameters?.tag === der.TAG.NULL) {
    throw new AgentError('CSR_REJECTED', 'CSR public key must name its curve; explicit EC parameters are not supported');
  }
  const curve = nistCurveByOid(der.readOid(parameters, 'named curve'));
  if (!curve) return spki;
  const { unusedBits, bytes } = der.readBitString(bits, 'subject public key');
  if (unusedBits !== 0 || bytes.length === 0) der.malformed('ec public key is not a whole number of octets');
  let point = bytes;
  if (bytes[0] !== UNCOMPRESSED) {
    try {
      point = ECDH.convertKey(bytes, curve.openssl, undefined, undefined, 'uncompressed') as Buffer;
    } catch {
      der.malformed('ec public key is not a point on its curve');
    }
  }
  if (point.length !== 1 + 2 * curve.coordinateLength) der.malformed('ec public key has the wrong length for its curve');
  return Buffer.concat([curve.spkiPrefix, point.subarray(1)]);
}
