/**
 * A JWK Set read back into published JWT keys: the bundle a central issuer streams to its agents
 * (docs/central-issuer.md), which they serve in FetchJWTBundles and validate with. Only public
 * parameters are taken from each JWK (a private one would be a leak, never used); each key gets
 * the algorithm its type and size sign with, as a loaded `--jwt-key` does.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import { AgentError } from '../errors.js';
import { type JwtPublicKey, jwtAlgorithmFor, publicJwk } from './jwt-key.js';

/** Most keys a bundle may hold: a signer and the keys retired in its tokens' lifetime. */
export const MAX_JWKS_KEYS = 64;

const PUBLIC_PARAMS: Readonly<Record<string, readonly string[]>> = { EC: ['kty', 'crv', 'x', 'y'], RSA: ['kty', 'n', 'e'] };

function invalid(message: string, cause?: unknown): AgentError {
  return new AgentError('CREDENTIALS_INVALID', `jwt bundle: ${message}`, cause === undefined ? undefined : { cause });
}

function publicKeyOf(jwk: Record<string, unknown>, index: number): KeyObject {
  const params = PUBLIC_PARAMS[String(jwk.kty)];
  if (!params) throw invalid(`keys[${index}]: unsupported kty ${JSON.stringify(jwk.kty)}`);
  const only: Record<string, unknown> = {};
  for (const p of params) only[p] = jwk[p];
  try {
    return createPublicKey({ key: only as JWK & { kty: string }, format: 'jwk' });
  } catch (err) {
    throw invalid(`keys[${index}]: not a usable public key`, err);
  }
}

/**
 * Parses a JWK Set (`{"keys": [...]}`), each key with a `kid`.
 * @throws AgentError `CREDENTIALS_INVALID` saying which key is wrong and how
 */
export function parseJwks(json: string): readonly JwtPublicKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch (err) {
    throw invalid('not JSON', err);
  }
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw invalid('no "keys" list');
  if (list.length > MAX_JWKS_KEYS) throw invalid(`more than ${MAX_JWKS_KEYS} keys`);
  const keys: JwtPublicKey[] = [];
  list.forEach((entry: unknown, index) => {
    if (typeof entry !== 'object' || entry === null) throw invalid(`keys[${index}]: not an object`);
    const jwk = entry as Record<string, unknown>;
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw invalid(`keys[${index}]: no kid`);
    const publicKey = publicKeyOf(jwk, index);
    const alg = jwtAlgorithmFor(publicKey);
    if (alg !== 'ES256' && alg !== 'ES384' && alg !== 'ES512' && alg !== 'RS256') throw invalid(`keys[${index}]: ${alg}`);
    if (!keys.some((k) => k.kid === jwk.kid))
      keys.push(Object.freeze({ kid: jwk.kid, alg, publicKey, jwk: { ...publicJwk(publicKey), kid: jwk.kid } }));
  });
  return Object.freeze(keys);
}
