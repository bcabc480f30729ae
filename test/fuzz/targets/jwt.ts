/**
 * JWT-SVIDs through ValidateJWTSVID's validator: whole-token text mutations, and header/payload
 * JSON mutations re-encoded under the original signature (so parsing reaches the claim checks).
 */

import { newKeyPair } from '../../../src/issuer/index.js';
import { createJwtKeySet, type JwtPublicKey, jwtSigningKeyFrom } from '../../../src/issuer/jwt-key.js';
import { mintJwtSvid, validateJwtSvid } from '../../../src/issuer/jwt-svid.js';
import { mutateJson, mutateText, randomJson } from '../mutate.js';
import type { Rng } from '../prng.js';
import { type FuzzTarget, showText } from '../runner.js';
import { SPIFFE } from '../seeds.js';

const AUDIENCE = 'spiffe://cluster.local/ns/backend/sa/api';

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Creates the JWT target. */
export function jwtTarget(): FuzzTarget<string> {
  let tokens: string[] = [];
  let keys: ReadonlyMap<string, JwtPublicKey> = new Map();
  const now = Date.now();
  return {
    name: 'jwt',
    codes: ['JWT_SVID_INVALID'],
    fullInputs: 100_000,
    smokeInputs: 300,
    async setup() {
      const es = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
      const rs = await jwtSigningKeyFrom(newKeyPair('rsa', { modulusLength: 2048 }).privateKey);
      keys = new Map(createJwtKeySet(es, [rs]).keys.map((k) => [k.kid, k]));
      tokens = [];
      for (const key of [es, rs]) {
        for (const audience of [[AUDIENCE], [AUDIENCE, 'other'], ['other']]) {
          tokens.push((await mintJwtSvid({ key, spiffeId: SPIFFE, audience, ttlMs: 300_000, now })).token);
        }
      }
    },
    input(rng: Rng) {
      const token = rng.pick(tokens);
      if (rng.chance(0.2)) return token;
      if (rng.chance(0.4)) return mutateText(rng, token, ['.', '=', '+', '/', 'eyJ']);
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const parts = [JSON.parse(Buffer.from(header, 'base64url').toString()), JSON.parse(Buffer.from(payload, 'base64url').toString())];
      const which = rng.int(2);
      parts[which] = rng.chance(0.9) ? mutateJson(rng, parts[which]) : randomJson(rng);
      const raw = rng.chance(0.1) ? mutateText(rng, JSON.stringify(parts[which])) : parts[which];
      const encoded = [
        b64(which === 0 ? raw : parts[0]),
        b64(which === 1 ? raw : parts[1]),
        rng.chance(0.9) ? signature : mutateText(rng, signature),
      ];
      return encoded.join('.');
    },
    run: (token) => validateJwtSvid(token, AUDIENCE, { keys: { keysFor: (td) => (td === 'cluster.local' ? keys : undefined) }, now }),
    show: (token) => showText(token),
  };
}
