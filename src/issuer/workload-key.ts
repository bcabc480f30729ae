/**
 * The key of one X.509-SVID, made where the SVID is requested (the agent) and never sent
 * anywhere but to its workload: the private key, its public half as the certificate will carry
 * it, and the PKCS#8 encoding the Workload API hands out (`x509_svid_key`).
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { curveNamed } from './curves.js';
import { ecKeyEncodings } from './ec-keys.js';

/** Curve of every workload key: P-256, what the Linkerd proxy and every SPIFFE client accept. */
const WORKLOAD_CURVE = curveNamed('prime256v1') as NonNullable<ReturnType<typeof curveNamed>>;

/** A workload's SVID key. `toJSON` and `util.inspect` show nothing of it. */
export interface WorkloadKey {
  readonly privateKey: KeyObject;
  /** DER SubjectPublicKeyInfo of the public key: what the leaf certifies. */
  readonly publicKeySpki: Buffer;
  /** Unencrypted PKCS#8 DER of the private key. Never log it. */
  readonly pkcs8: Buffer;
}

/** A fresh EC P-256 workload key: one key generation and one key export. */
export function generateWorkloadKey(): WorkloadKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: WORKLOAD_CURVE.jwk });
  const encoded = ecKeyEncodings(privateKey, WORKLOAD_CURVE.openssl);
  if (!encoded) throw new TypeError('a generated P-256 key did not export as SEC1');
  const key: WorkloadKey = { privateKey, publicKeySpki: encoded.spki, pkcs8: encoded.pkcs8 };
  // The private key must never reach a log line, even when someone logs the whole object.
  Object.defineProperties(key, {
    toJSON: { value: () => '[workload key]', enumerable: false },
    [inspect.custom]: { value: () => 'WorkloadKey { [redacted] }', enumerable: false },
  });
  return Object.freeze(key);
}
