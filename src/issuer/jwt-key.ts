/**
 * The JWT-SVID signing key (docs/workload-api.md, issue 4): a key of its own, never the X.509 CA key, shared
 * by every agent of a cluster through `--jwt-key` so any node validates any node's tokens, and
 * published in FetchJWTBundles under its RFC 7638 thumbprint as `kid`.
 *
 * Keys live in a {@link JwtKeySet}: the newest key signs, and keys retired by a rotation stay
 * published (and accepted) until the set is replaced without them.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { inspect } from 'node:util';
import type { JWK } from 'jose';
import { calculateJwkThumbprint } from 'jose/jwk/thumbprint';
import { AgentError, describeError } from '../errors.js';
import { type ReadFile, readCredentialFile } from './credential-file.js';
import { curveNamed, curveOf } from './curves.js';
import { pemBlocks } from './pem.js';

/** The JWS algorithm a key signs with, chosen from the key: P-256 → ES256, P-384 → ES384, P-521 → ES512, RSA → RS256. */
export type JwtSigningAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'RS256';

/** A published JWT key: what validators need. */
export interface JwtPublicKey {
  /** RFC 7638 JWK thumbprint (SHA-256, base64url) of the public key. */
  readonly kid: string;
  readonly alg: JwtSigningAlgorithm;
  readonly publicKey: KeyObject;
  /**
   * The public JWK as FetchJWTBundles publishes it: key parameters and `kid`, no `use` and no
   * `alg` (SPIRE's Workload API JWKS has neither; go-spiffe ignores `use`).
   */
  readonly jwk: JWK;
}

/** A JWT key with its private half. `toJSON` and `util.inspect` show only `kid` and `alg`. */
export interface JwtSigningKey extends JwtPublicKey {
  readonly privateKey: KeyObject;
}

/** The keys of the trust domain: one signer, every key published. Immutable: a change replaces it. */
export interface JwtKeySet {
  /** Signs new JWT-SVIDs: the newest key. */
  readonly signer: JwtSigningKey;
  /** Published and accepted: the signer first, then keys retired by rotations, newest first. */
  readonly keys: readonly JwtPublicKey[];
}

/** Options of {@link loadJwtSigningKey}. */
export interface LoadJwtKeyOptions {
  /** Keys the JWT key must not be (the X.509 issuer's and anchors' keys; private or public), compared by public key. */
  readonly forbidden?: readonly KeyObject[];
  /** Reads the file; default `credential-file.ts`'s bounded reader of regular files. */
  readonly readFile?: ReadFile;
}

const MIN_RSA_BITS = 2048;
const KEY_BLOCKS: Readonly<Record<string, 'pkcs8' | 'sec1' | 'pkcs1'>> = {
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
  'RSA PRIVATE KEY': 'pkcs1',
};
const SUPPORTED = 'use an EC P-256 (default), P-384 or P-521 key, or RSA of at least 2048 bits';

function invalid(message: string, cause?: unknown): AgentError {
  return new AgentError('CREDENTIALS_INVALID', message, cause === undefined ? undefined : { cause });
}

/** The algorithm a private or public key signs with, or a reason it cannot sign JWT-SVIDs. */
export function jwtAlgorithmFor(key: KeyObject): JwtSigningAlgorithm | string {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    return curveNamed(details.namedCurve)?.jws ?? `an EC ${details.namedCurve ?? 'unknown-curve'} key; ${SUPPORTED}`;
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    return bits >= MIN_RSA_BITS ? 'RS256' : `RSA-${bits}; RSA keys must have at least ${MIN_RSA_BITS} bits`;
  }
  return `an ${key.asymmetricKeyType ?? 'unknown'} key; ${SUPPORTED}`;
}

/** The JWS algorithms a token signed by `key` may carry: its curve's ES alg, or RS/PS for RSA. */
export function jwsAlgorithmsFor(key: KeyObject): readonly string[] {
  const alg = jwtAlgorithmFor(key);
  if (alg === 'RS256') return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
  return alg.startsWith('ES') ? [alg] : [];
}

/**
 * The public JWK of a key. EC keys are built from the SPKI point: on Node 20,
 * `export({ format: 'jwk' })` of an EC key can dead-lock the process (docs/performance.md).
 */
export function publicJwk(publicKey: KeyObject): JWK {
  const curve = curveOf(publicKey);
  if (!curve) return publicKey.export({ format: 'jwk' }) as JWK;
  const size = curve.coordinateLength;
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  // The SPKI ends with the uncompressed point 0x04 || x || y.
  const point = spki.subarray(spki.length - (2 * size + 1));
  return {
    kty: 'EC',
    crv: curve.jwk,
    x: point.subarray(1, 1 + size).toString('base64url'),
    y: point.subarray(1 + size).toString('base64url'),
  };
}

/**
 * Builds the signing key (kid, alg, public JWK) from a private key.
 * @throws AgentError `CREDENTIALS_INVALID` when the key type or size cannot sign JWT-SVIDs
 */
export async function jwtSigningKeyFrom(privateKey: KeyObject): Promise<JwtSigningKey> {
  const alg = jwtAlgorithmFor(privateKey);
  if (alg !== 'ES256' && alg !== 'ES384' && alg !== 'ES512' && alg !== 'RS256') throw invalid(`the key is ${alg}`);
  const publicKey = createPublicKey(privateKey);
  const exported = publicJwk(publicKey);
  const kid = await calculateJwkThumbprint(exported);
  const jwk: JWK = { ...exported, kid };
  const key: JwtSigningKey = { kid, alg, publicKey, jwk, privateKey };
  // The private key must never reach a log line, even when someone logs the whole object.
  Object.defineProperties(key, {
    toJSON: { value: () => ({ kid, alg }), enumerable: false },
    [inspect.custom]: { value: () => `JwtSigningKey { kid: '${kid}', alg: '${alg}' }`, enumerable: false },
  });
  return Object.freeze(key);
}

/**
 * Loads the PEM private key at `path` (`--jwt-key`): PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`
 * or PKCS#1 `RSA PRIVATE KEY`, unencrypted, exactly one in the file (other blocks such as
 * `EC PARAMETERS` are ignored).
 * @throws AgentError `CREDENTIALS_INVALID` naming the file and the problem: unreadable, no or
 *   several private keys, encrypted, unparsable, unsupported type or size, or one of `forbidden`;
 *   `CREDENTIALS_UNREADABLE` when the file cannot be read now (see `credential-file.ts`)
 */
export async function loadJwtSigningKey(path: string, options: LoadJwtKeyOptions = {}): Promise<JwtSigningKey> {
  const text = (await readCredentialFile(path, 'JWT signing key', options.readFile)).toString('utf8');
  let blocks: ReturnType<typeof pemBlocks>;
  try {
    blocks = pemBlocks(text);
  } catch (err) {
    throw invalid(`JWT signing key ${path}: ${describeError(err)}`, err);
  }
  if (blocks.some((b) => b.type === 'ENCRYPTED PRIVATE KEY') || /Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw invalid(`JWT signing key ${path} is encrypted; the agent needs an unencrypted key`);
  }
  const keys = blocks.filter((b) => b.type in KEY_BLOCKS);
  if (keys.length === 0) {
    const found = blocks.map((b) => b.type);
    const what = found.length === 0 ? 'no PEM blocks' : `only ${[...new Set(found)].join(', ')}`;
    throw invalid(`JWT signing key ${path} holds no private key (${what})`);
  }
  if (keys.length > 1) throw invalid(`JWT signing key ${path} holds ${keys.length} private keys; put exactly one in the file`);
  const block = keys[0] as (typeof keys)[number];
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: block.der, format: 'der', type: KEY_BLOCKS[block.type] as 'pkcs8' | 'sec1' | 'pkcs1' });
  } catch (err) {
    throw invalid(`JWT signing key ${path}: the ${block.type} block does not parse`, err);
  }
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  for (const other of options.forbidden ?? []) {
    const otherPublic = other.type === 'public' ? other : createPublicKey(other);
    if (spki.equals(otherPublic.export({ type: 'spki', format: 'der' }))) {
      throw invalid(`JWT signing key ${path} is an X.509 CA key; JWT-SVIDs need a key of their own`);
    }
  }
  try {
    return await jwtSigningKeyFrom(privateKey);
  } catch (err) {
    throw invalid(`JWT signing key ${path}: ${describeError(err)}`, err);
  }
}

/**
 * A key set whose signer is `signer`, also publishing `retired` keys (a rotation keeps the old
 * key published until every token it signed has expired). Duplicate `kid`s are kept once.
 */
export function createJwtKeySet(signer: JwtSigningKey, retired: readonly JwtPublicKey[] = []): JwtKeySet {
  const keys: JwtPublicKey[] = [signer];
  for (const key of retired) if (!keys.some((k) => k.kid === key.kid)) keys.push(key);
  return Object.freeze({ signer, keys: Object.freeze(keys) });
}

/**
 * The JWK Set JSON of `keys` as SPIRE's Workload API serves it: `{"keys": [...]}`, indented with
 * four spaces, each key with `kid` and its public parameters only.
 */
export function jwksJson(keys: readonly JwtPublicKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.jwk) }, null, 4);
}
