/**
 * The key of one X.509-SVID, made where the SVID is requested (the agent) and never sent
 * anywhere but to its workload: the private key, its public half as the certificate will carry
 * it, and the PKCS#8 encoding the Workload API hands out (`x509_svid_key`).
 */
import { createECDH, createPrivateKey, type ECDH, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import { curveNamed } from './curves.js';
import { p256EncodingsOfParts } from './ec-keys.js';

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

/** The `ECDH` object every workload key is made by; see {@link generateWorkloadKey}. */
let generator: ECDH | undefined;

/**
 * A fresh EC P-256 workload key, made by `crypto.ECDH`: OpenSSL's `EC_KEY_generate_key` draws a
 * new scalar at every `generateKeys()`, and its raw scalar and public point come back without any
 * encoder. One `ECDH` object serves every key, since making one costs as much as a key: ~15 µs a
 * key, against ~28 µs with a new object and ~72 µs for `generateKeyPairSync` with a SEC1 export
 * (docs/performance.md, "Issuance"). It holds the latest key until the next, as the SVID store
 * holds it anyway. The SPKI and the PKCS#8 are assembled from the two (`ec-keys.ts`).
 */
export function generateWorkloadKey(): WorkloadKey {
  generator ??= createECDH(WORKLOAD_CURVE.openssl);
  const point = generator.generateKeys();
  const scalar = generator.getPrivateKey();
  try {
    const encoded = p256EncodingsOfParts(scalar, point);
    if (!encoded) throw new TypeError(`a generated P-256 key has a ${scalar.length}-octet scalar and a ${point.length}-octet point`);
    return new RedactedWorkloadKey(encoded.spki, encoded.pkcs8);
  } finally {
    scalar.fill(0);
  }
}
