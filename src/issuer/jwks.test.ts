import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAgentError } from '../errors.js';
import { parseJwks } from './jwks.js';
import { createJwtKeySet, jwksJson, jwtSigningKeyFrom } from './jwt-key.js';
import { newKeyPair } from './keygen.js';

test('reads back what jwksJson publishes: kids, algorithms, keys and JWKs, in order', async () => {
  const ec = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-384' }).privateKey);
  const rsa = await jwtSigningKeyFrom(newKeyPair('rsa', { modulusLength: 2048 }).privateKey);
  const set = createJwtKeySet(ec, [rsa]);
  const keys = parseJwks(jwksJson(set.keys));
  assert.deepEqual(
    keys.map((k) => [k.kid, k.alg]),
    [
      [ec.kid, 'ES384'],
      [rsa.kid, 'RS256'],
    ],
  );
  assert.ok(keys[0]?.publicKey.equals(ec.publicKey));
  assert.equal(jwksJson(keys), jwksJson(set.keys), 'served again byte for byte');
});

test('takes only public parameters: a private "d" is dropped', async () => {
  const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1' };
  const [key] = parseJwks(JSON.stringify({ keys: [jwk] }));
  assert.equal(key?.publicKey.type, 'public');
  assert.equal('d' in (key?.jwk ?? {}), false);
});

test('refuses what is not a bundle of usable keys, saying which key', () => {
  const cases: Array<[string, RegExp]> = [
    ['nope', /not JSON/],
    ['{}', /no "keys" list/],
    ['{"keys":[1]}', /keys\[0\]: not an object/],
    ['{"keys":[{"kty":"EC"}]}', /keys\[0\]: no kid/],
    ['{"keys":[{"kid":"a","kty":"oct","k":"AA"}]}', /keys\[0\]: unsupported kty "oct"/],
    ['{"keys":[{"kid":"a","kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}', /keys\[0\]: not a usable public key/],
  ];
  for (const [json, message] of cases) {
    assert.throws(
      () => parseJwks(json),
      (err: unknown) => isAgentError(err, 'CREDENTIALS_INVALID') && message.test(err.message),
      json,
    );
  }
});
