/**
 * Key pairs that are safe to use on Node 20. A `KeyObject` that `generateKeyPairSync` returns
 * shares a mutex with the key-generation job that made it. When a garbage collection frees that
 * job while the main thread holds the mutex and allocates, the job's destructor waits on the
 * mutex for ever. Reading `asymmetricKeyDetails` and exporting a JWK do that, for EC keys and
 * others; both hung test processes here with EC keys on Node 20.20.2 (docs/performance.md). So every key made
 * outside the workload-key path comes from {@link newKeyPair}, which imports the private half
 * from its DER, so no job shares its mutex. Workload keys come from `crypto.ECDH`, which has no
 * job (workload-key.ts). `test/architecture.test.ts` keeps `generateKeyPairSync` out of every
 * other file.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * `generateKeyPairSync` with only the private half encoded, as SEC1 DER. It also returns the
 * public half as a `KeyObject` sharing the job's mutex; the type leaves it out so that nothing
 * reads it. Node's type declarations want both encodings or neither, hence the cast.
 */
const generateSec1 = generateKeyPairSync as unknown as (
  type: 'ec',
  options: { readonly namedCurve: string; readonly privateKeyEncoding: { readonly type: 'sec1'; readonly format: 'der' } },
) => { readonly privateKey: Buffer };

/** What {@link newKeyPair} makes: an EC key on a named curve, an Ed25519 key, or an RSA key. */
export type KeyPairSpec =
  | readonly ['ec', { readonly namedCurve: string }]
  | readonly ['ed25519']
  | readonly ['rsa', { readonly modulusLength: number }];

/**
 * A fresh key pair whose `KeyObject`s share nothing with the job that made them. Takes the same
 * arguments as `generateKeyPairSync` for the key types used here. The private half is imported
 * from its DER (SEC1 for EC keys, the cheapest of OpenSSL 3's decoders: ~150 µs on top of the
 * ~50 µs of a P-256 key generation; PKCS#8 for the others) and the public half derived from it.
 * Only CAs, serving keys and tests come here; workload keys are made by `generateWorkloadKey`.
 */
export function newKeyPair(...spec: KeyPairSpec): { privateKey: KeyObject; publicKey: KeyObject } {
  const [type, options] = spec;
  const pkcs8 = { type: 'pkcs8', format: 'der' } as const;
  const spki = { type: 'spki', format: 'der' } as const;
  // One call per type: Node's overloads pick the return type from the literal `type`.
  const { privateKey: der } =
    type === 'ec'
      ? generateSec1('ec', { namedCurve: options.namedCurve, privateKeyEncoding: { type: 'sec1', format: 'der' } })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: options.modulusLength, privateKeyEncoding: pkcs8, publicKeyEncoding: spki })
        : generateKeyPairSync('ed25519', { privateKeyEncoding: pkcs8, publicKeyEncoding: spki });
  try {
    const privateKey = createPrivateKey({ key: der, format: 'der', type: type === 'ec' ? 'sec1' : 'pkcs8' });
    return { privateKey, publicKey: createPublicKey(privateKey) };
  } finally {
    der.fill(0);
  }
}
