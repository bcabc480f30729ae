/**
 * The key of one X.509-SVID, made where the SVID is requested (the agent) and never sent
 * anywhere but to its workload: the private key, its public half as the certificate will carry
 * it, and the PKCS#8 encoding the Workload API hands out (`x509_svid_key`).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { curveNamed } from './curves.js';
import { encodingsOfSec1 } from './ec-keys.js';
import { generateSec1 } from './keygen.js';

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

/**
 * The private key must never reach a log line, even when someone logs the whole object. The
 * `KeyObject` is made on first use: the embedded issuer needs only the encodings, and a key
 * object made at generation time would cost an export of a freshly generated key (docs/performance.md).
 */
class RedactedWorkloadKey implements WorkloadKey {
  readonly publicKeySpki: Buffer;
  readonly pkcs8: Buffer;
  #privateKey: KeyObject | undefined;

  constructor(publicKeySpki: Buffer, pkcs8: Buffer) {
    this.publicKeySpki = publicKeySpki;
    this.pkcs8 = pkcs8;
  }

  get privateKey(): KeyObject {
    this.#privateKey ??= createPrivateKey({ key: this.pkcs8, format: 'der', type: 'pkcs8' });
    return this.#privateKey;
  }

  toJSON(): string {
    return '[workload key]';
  }

  [inspect.custom](): string {
    return 'WorkloadKey { [redacted] }';
  }
}

/**
 * A fresh EC P-256 workload key. One native call makes the key and its SEC1 encoding, from which
 * the SPKI and the PKCS#8 are assembled (`ec-keys.ts`).
 */
export function generateWorkloadKey(): WorkloadKey {
  const { privateKey: sec1 } = generateSec1('ec', { namedCurve: WORKLOAD_CURVE.jwk, privateKeyEncoding: { type: 'sec1', format: 'der' } });
  try {
    const encoded = encodingsOfSec1(sec1, WORKLOAD_CURVE.openssl);
    if (!encoded) throw new TypeError('a generated P-256 key has no public point in its SEC1 encoding');
    return new RedactedWorkloadKey(encoded.spki, encoded.pkcs8);
  } finally {
    sec1.fill(0);
  }
}
