import assert from 'node:assert/strict';
import { createHmac, type KeyObject, randomBytes, sign } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { isAgentError } from '../errors.js';
import { type JwtPublicKey, type JwtSigningKey, jwtSigningKeyFrom } from './jwt-key.js';
import { JWT_SVID_ALGORITHMS, type JwtKeyLookup, MAX_JWT_SVID_LENGTH, mintJwtSvid, validateJwtSvid } from './jwt-svid.js';
import { newKeyPair } from './keygen.js';

const TD = 'cluster.local';
const ID = `spiffe://${TD}/ns/default/sa/web`;
const NOW = Date.UTC(2030, 0, 2, 3, 4, 5);
const NOW_S = Math.floor(NOW / 1000);
const EXPECTED_ALGS = '["RS256" "RS384" "RS512" "ES256" "ES384" "ES512" "PS256" "PS384" "PS512"]';

let key: JwtSigningKey;
let rsa: JwtSigningKey;
let lookups = 0;
let keys: JwtKeyLookup;

before(async () => {
  key = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
  rsa = await jwtSigningKeyFrom(newKeyPair('rsa', { modulusLength: 2048 }).privateKey);
  const byKid = new Map<string, JwtPublicKey>([
    [key.kid, key],
    [rsa.kid, rsa],
  ]);
  keys = {
    keysFor(td) {
      lookups++;
      return td === TD ? byKid : undefined;
    },
  };
});

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A token with any header and payload, signed with node:crypto (ES*: raw r||s, as JWS wants). */
function craft(header: Record<string, unknown>, payload: Record<string, unknown>, signer?: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  if (!signer) return `${input}.`;
  const alg = String(header.alg);
  const hash = `sha${alg.slice(2)}`;
  const options = alg.startsWith('PS')
    ? { key: signer, padding: 6, saltLength: Number(alg.slice(2)) / 8 }
    : { key: signer, dsaEncoding: 'ieee-p1363' as const };
  return `${input}.${sign(hash, Buffer.from(input), options).toString('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}) => ({ sub: ID, aud: ['a', 'b'], iat: NOW_S, exp: NOW_S + 300, ...extra });
const header = (extra: Record<string, unknown> = {}) => ({ alg: 'ES256', kid: key.kid, typ: 'JWT', ...extra });

describe('mintJwtSvid', () => {
  test('header alg/kid/typ and claims sub, aud (array), iat, exp; jose verifies it', async () => {
    const minted = await mintJwtSvid({ key, spiffeId: ID, audience: ['a'], ttlMs: 300_000, now: NOW + 999 });
    assert.deepEqual(decodeProtectedHeader(minted.token), { alg: 'ES256', kid: key.kid, typ: 'JWT' });
    assert.deepEqual(decodeJwt(minted.token), { sub: ID, aud: ['a'], iat: NOW_S, exp: NOW_S + 300 });
    assert.equal(minted.issuedAt, NOW_S * 1000);
    assert.equal(minted.expiresAt, (NOW_S + 300) * 1000);
    assert.equal(minted.kid, key.kid);
    const verified = await jwtVerify(minted.token, key.publicKey, { audience: 'a', currentDate: new Date(NOW), algorithms: ['ES256'] });
    assert.equal(verified.payload.sub, ID);
  });

  test('RSA keys sign RS256', async () => {
    const minted = await mintJwtSvid({ key: rsa, spiffeId: ID, audience: ['a'], ttlMs: 60_000, now: NOW });
    assert.equal(decodeProtectedHeader(minted.token).alg, 'RS256');
  });

  test('an empty audience or a sub-second lifetime is caller misuse', async () => {
    await assert.rejects(mintJwtSvid({ key, spiffeId: ID, audience: [], ttlMs: 300_000, now: NOW }), TypeError);
    await assert.rejects(mintJwtSvid({ key, spiffeId: ID, audience: ['a'], ttlMs: 999, now: NOW }), TypeError);
  });
});

describe('validateJwtSvid', () => {
  test('a minted token validates: SPIFFE ID, kid and every claim, aud a list', async () => {
    const { token } = await mintJwtSvid({ key, spiffeId: ID, audience: ['a', 'b'], ttlMs: 300_000, now: NOW });
    const result = await validateJwtSvid(token, 'b', { keys, now: NOW });
    assert.equal(result.spiffeId, ID);
    assert.equal(result.kid, key.kid);
    assert.deepEqual(result.claims, { sub: ID, aud: ['a', 'b'], iat: NOW_S, exp: NOW_S + 300 });
  });

  test('a single-string aud comes back as a list; extra claims are kept', async () => {
    const token = craft(header(), claims({ aud: 'a', jti: 'x', nested: { n: [1, true, null] } }), key.privateKey);
    const result = await validateJwtSvid(token, 'a', { keys, now: NOW });
    assert.deepEqual(result.claims.aud, ['a']);
    assert.deepEqual(result.claims.nested, { n: [1, true, null] });
  });

  test('RSA keys accept RS* and PS* tokens; one minute of leeway on exp, nbf, iat', async () => {
    for (const alg of ['RS256', 'RS512', 'PS256', 'PS384']) {
      await validateJwtSvid(craft(header({ alg, kid: rsa.kid }), claims(), rsa.privateKey), 'a', { keys, now: NOW });
    }
    const edge = craft(header(), claims({ exp: NOW_S, nbf: NOW_S + 59, iat: NOW_S + 59 }), key.privateKey);
    await validateJwtSvid(edge, 'a', { keys, now: NOW });
    await validateJwtSvid(edge, 'a', { keys, now: NOW + 59_000 });
  });

  const tampered = async () => {
    const [h, , s] = craft(header(), claims(), key.privateKey).split('.');
    return `${h}.${b64(claims({ sub: `spiffe://${TD}/ns/kube-system/sa/admin` }))}.${s}`;
  };
  const hmacWithPublicKey = () => {
    const input = `${b64(header({ alg: 'HS256' }))}.${b64(claims())}`;
    const secret = key.publicKey.export({ type: 'spki', format: 'pem' });
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
  };
  const p384 = newKeyPair('ec', { namedCurve: 'P-384' }).privateKey;
  const rejections: Array<[string, () => string | Promise<string>, string, { now?: number; audience?: string; noLookup?: boolean }?]> = [
    ['a tampered payload', tampered, 'token signature is invalid'],
    [
      'a signature by another key under our kid',
      () => craft(header(), claims(), newKeyPair('ec', { namedCurve: 'P-256' }).privateKey),
      'token signature is invalid',
    ],
    [
      'an unknown kid',
      () => craft(header({ kid: 'nope' }), claims(), key.privateKey),
      `public key "nope" not found in trust domain "${TD}"`,
    ],
    [
      'alg none',
      () => craft(header({ alg: 'none' }), claims()),
      `unable to parse JWT token: unexpected signature algorithm "none"; expected ${EXPECTED_ALGS}`,
      { noLookup: true },
    ],
    [
      'HS256 with the public key as the secret',
      hmacWithPublicKey,
      `unable to parse JWT token: unexpected signature algorithm "HS256"; expected ${EXPECTED_ALGS}`,
      { noLookup: true },
    ],
    [
      'no alg',
      () => `${craft(header({ alg: undefined }), claims())}AAAA`,
      `unable to parse JWT token: unexpected signature algorithm missing; expected ${EXPECTED_ALGS}`,
    ],
    [
      'ES384 under a P-256 key',
      () => craft(header({ alg: 'ES384' }), claims(), p384),
      `token algorithm "ES384" does not match key "${'KID'}"`,
    ],
    ['an expired token', () => craft(header(), claims({ exp: NOW_S - 61 }), key.privateKey), 'token has expired'],
    ['a token not valid yet', () => craft(header(), claims({ nbf: NOW_S + 61 }), key.privateKey), 'token not valid yet (nbf)'],
    [
      'a token issued in the future',
      () => craft(header(), claims({ iat: NOW_S + 61 }), key.privateKey),
      'token issued in the future (iat)',
    ],
    [
      'the wrong audience',
      () => craft(header(), claims(), key.privateKey),
      'expected audience in ["other"] (audience=["a" "b"])',
      { audience: 'other' },
    ],
    ['no aud', () => craft(header(), claims({ aud: undefined }), key.privateKey), 'expected audience in ["a"] (audience=[])'],
    [
      'a foreign trust domain',
      () => craft(header(), claims({ sub: 'spiffe://evil.example/ns/a/sa/b' }), key.privateKey),
      'no keys found for trust domain "evil.example"',
    ],
    ['no kid', () => craft(header({ kid: undefined }), claims(), key.privateKey), 'token header missing key id'],
    ['an empty kid', () => craft(header({ kid: '' }), claims(), key.privateKey), 'token header missing key id'],
    ['no sub', () => craft(header(), claims({ sub: undefined }), key.privateKey), 'token missing subject claim'],
    ['no exp', () => craft(header(), claims({ exp: undefined }), key.privateKey), 'token missing exp claim'],
    [
      'a string exp',
      () => craft(header(), claims({ exp: String(NOW_S + 300) }), key.privateKey),
      'token has an invalid exp claim: must be a number',
    ],
    [
      'a sub that is not a SPIFFE ID',
      () => craft(header(), claims({ sub: 'https://x/y' }), key.privateKey),
      'token has an invalid subject claim: SPIFFE ID must have the form spiffe://<trust-domain>/<path> with no query or fragment',
    ],
    [
      'an aud of numbers',
      () => craft(header(), claims({ aud: [1] }), key.privateKey),
      'token has an invalid aud claim: must be a string or an array of strings',
    ],
    [
      'typ other than JWT or JOSE',
      () => craft(header({ typ: 'at+jwt' }), claims(), key.privateKey),
      'token header typ must be JWT or JOSE when present',
    ],
    [
      'a crit header',
      () => craft(header({ crit: ['exp'] }), claims(), key.privateKey),
      'unable to parse JWT token: unsupported crit header',
    ],
    ['one part', () => 'abc', 'unable to parse JWT token: compact JWS format must have three parts'],
    ['an empty string', () => '', 'unable to parse JWT token: compact JWS format must have three parts'],
    ['four parts', () => 'a.b.c.d', 'unable to parse JWT token: compact JWS format must have three parts'],
    [
      'JSON serialization',
      () => JSON.stringify({ payload: 'x', signatures: [] }),
      'unable to parse JWT token: compact JWS format must have three parts',
    ],
    ['two dots only', () => '..', 'unable to parse JWT token: header is not JSON'],
    ['a header that is not base64url', () => '!!.e30.e30', 'unable to parse JWT token: header is not base64url'],
    ['a header that is not JSON', () => `${b64('nope')}.${b64(claims())}.AAAA`, 'unable to parse JWT token: header is not JSON'],
    ['a header that is an array', () => `${b64([1])}.${b64(claims())}.AAAA`, 'unable to parse JWT token: header is not a JSON object'],
    [
      'a payload that is not an object',
      () => `${b64(header())}.${b64('"x"')}.AAAA`,
      'unable to parse JWT token: payload is not a JSON object',
    ],
    [
      'a signature that is not base64url',
      () => `${b64(header())}.${b64(claims())}.a+b/`,
      'unable to parse JWT token: signature is not base64url',
    ],
    [
      'a giant token',
      () => `${b64(header())}.${'A'.repeat(MAX_JWT_SVID_LENGTH)}.AAAA`,
      `unable to parse JWT token: longer than ${MAX_JWT_SVID_LENGTH} characters`,
    ],
  ];
  for (const [label, make, message, opts] of rejections) {
    test(`rejects ${label}`, async () => {
      const token = await make();
      const before = lookups;
      await assert.rejects(validateJwtSvid(token, opts?.audience ?? 'a', { keys, now: opts?.now ?? NOW }), (err: unknown) => {
        assert.ok(isAgentError(err, 'JWT_SVID_INVALID'), String(err));
        assert.equal(err.message, message.replace('KID', key.kid));
        return true;
      });
      if (opts?.noLookup) assert.equal(lookups, before, 'the algorithm allow-list comes before any key lookup');
    });
  }

  test('random strings and random dotted triples are refused, never thrown differently', async () => {
    for (let i = 0; i < 300; i++) {
      const parts = Array.from({ length: 1 + (i % 4) }, () => randomBytes(i % 40).toString(i % 2 ? 'base64url' : 'latin1'));
      await assert.rejects(validateJwtSvid(parts.join('.'), 'a', { keys, now: NOW }), (err: unknown) =>
        isAgentError(err, 'JWT_SVID_INVALID'),
      );
    }
  });

  test('the allowed algorithms are the nine of JWT-SVID.md', () => {
    assert.equal(JWT_SVID_ALGORITHMS.length, 9);
  });
});
