import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { calculateJwkThumbprint } from 'jose';
import { isAgentError } from '../errors.js';
import { createIssuerCa, createJwtSigningKey, createTrustAnchor } from './ca.js';
import { createJwtKeySet, jwksJson, jwtSigningKeyFrom, loadJwtSigningKey } from './jwt-key.js';
import { newKeyPair } from './keygen.js';

const dir = mkdtempSync(join(tmpdir(), 'jwt-key-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

const ec = (namedCurve: string) => newKeyPair('ec', { namedCurve }).privateKey;

describe('loadJwtSigningKey', () => {
  test('EC P-256 PKCS#8 (what certs create and --dev write): ES256, kid is the RFC 7638 thumbprint', async () => {
    const path = file('p256.key', createJwtSigningKey().privateKeyPem);
    const key = await loadJwtSigningKey(path);
    assert.equal(key.alg, 'ES256');
    const { kid: _kid, ...publicJwk } = key.jwk;
    assert.equal(key.kid, await calculateJwkThumbprint(publicJwk));
    assert.equal(key.jwk.kid, key.kid);
    assert.equal(key.jwk.kty, 'EC');
    assert.equal(key.jwk.crv, 'P-256');
    assert.equal('d' in key.jwk, false, 'the published JWK has no private part');
    assert.equal('use' in key.jwk, false, 'SPIRE publishes no use member');
    assert.equal((await loadJwtSigningKey(path)).kid, key.kid, 'the same file gives the same kid on every node');
  });

  test('SEC1 EC keys (openssl ecparam -genkey, with EC PARAMETERS), P-384, P-521 and PKCS#1 RSA', async () => {
    const sec1 = ec('prime256v1').export({ type: 'sec1', format: 'pem' }).toString();
    const withParams = `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}`;
    assert.equal((await loadJwtSigningKey(file('sec1.key', withParams))).alg, 'ES256');
    assert.equal(
      (await loadJwtSigningKey(file('p384.key', ec('secp384r1').export({ type: 'pkcs8', format: 'pem' }).toString()))).alg,
      'ES384',
    );
    assert.equal(
      (await loadJwtSigningKey(file('p521.key', ec('secp521r1').export({ type: 'pkcs8', format: 'pem' }).toString()))).alg,
      'ES512',
    );
    const rsa = newKeyPair('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const rsaKey = await loadJwtSigningKey(file('rsa.key', rsa));
    assert.equal(rsaKey.alg, 'RS256');
    assert.equal(rsaKey.jwk.kty, 'RSA');
  });

  const anchor = createTrustAnchor();
  const issuer = createIssuerCa({ anchor });
  const p256 = ec('prime256v1');
  const cases: Array<[string, string | undefined, RegExp, { forbidden?: boolean }?]> = [
    ['a missing file', undefined, /^cannot read JWT signing key \S+missing\.key: ENOENT$/],
    ['an empty file', '', /holds no private key \(no PEM blocks\)$/],
    ['a certificate only', issuer.certificatePem, /holds no private key \(only CERTIFICATE\)$/],
    [
      'a public key only',
      newKeyPair('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      /only PUBLIC KEY/,
    ],
    [
      'an encrypted PKCS#8 key',
      p256.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString(),
      /is encrypted/,
    ],
    [
      'an encrypted SEC1 key',
      p256.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString(),
      /is encrypted/,
    ],
    ['two keys', `${createJwtSigningKey().privateKeyPem}${createJwtSigningKey().privateKeyPem}`, /holds 2 private keys/],
    ['damaged base64', '-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----\n', /not valid base64/],
    ['a block that is not a key', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', /the PRIVATE KEY block does not parse/],
    [
      'RSA-1024',
      newKeyPair('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      /RSA-1024; RSA keys must have at least 2048 bits/,
    ],
    [
      'an Ed25519 key',
      newKeyPair('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      /an ed25519 key; use an EC P-256/,
    ],
    ['an EC key on another curve', ec('secp256k1').export({ type: 'pkcs8', format: 'pem' }).toString(), /an EC secp256k1 key/],
    ['the X.509 issuer key', issuer.privateKeyPem, /is an X\.509 CA key; JWT-SVIDs need a key of their own/, { forbidden: true }],
    ['the trust anchor key', anchor.privateKeyPem, /is an X\.509 CA key/, { forbidden: true }],
  ];
  for (const [label, text, message, opts] of cases) {
    test(`refuses ${label} with CREDENTIALS_INVALID naming the file`, async () => {
      const path = text === undefined ? join(dir, 'missing.key') : file(`bad-${label.replaceAll(/\W/g, '-')}.key`, text);
      const forbidden = opts?.forbidden ? [issuer, anchor].map((ca) => new X509Certificate(ca.certificateDer).publicKey) : [];
      await assert.rejects(loadJwtSigningKey(path, { forbidden }), (err: unknown) => {
        assert.ok(isAgentError(err, 'CREDENTIALS_INVALID'), String(err));
        assert.ok(err.message.includes(path), `${err.message} names ${path}`);
        assert.match(err.message, message);
        return true;
      });
    });
  }

  test('a private forbidden key is compared by its public half', async () => {
    const path = file('issuer-copy.key', issuer.privateKeyPem);
    await assert.rejects(loadJwtSigningKey(path, { forbidden: [issuer.privateKey] }), /is an X\.509 CA key/);
  });
});

describe('signing keys never show their private half', () => {
  test('JSON and util.inspect print kid and alg only', async () => {
    const key = await jwtSigningKeyFrom(p256Key());
    assert.deepEqual(JSON.parse(JSON.stringify(key)), { kid: key.kid, alg: 'ES256' });
    assert.equal(inspect(key), `JwtSigningKey { kid: '${key.kid}', alg: 'ES256' }`);
    assert.equal(JSON.stringify({ nested: key }).includes('"d"'), false);
  });
});

function p256Key() {
  return newKeyPair('ec', { namedCurve: 'P-256' }).privateKey;
}

describe('key sets and their JWKS', () => {
  test('the signer comes first, retired keys follow once each', async () => {
    const a = await jwtSigningKeyFrom(p256Key());
    const b = await jwtSigningKeyFrom(p256Key());
    const first = createJwtKeySet(a);
    assert.deepEqual(
      first.keys.map((k) => k.kid),
      [a.kid],
    );
    const rotated = createJwtKeySet(b, first.keys);
    assert.equal(rotated.signer, b);
    assert.deepEqual(
      rotated.keys.map((k) => k.kid),
      [b.kid, a.kid],
    );
    assert.deepEqual(
      createJwtKeySet(b, [b, a, a]).keys.map((k) => k.kid),
      [b.kid, a.kid],
    );
    assert.ok(Object.isFrozen(rotated.keys));
  });

  test('jwksJson is SPIRE\'s shape: {"keys": [...]}, four-space indent, kid and public parameters only', async () => {
    const a = await jwtSigningKeyFrom(p256Key());
    const json = jwksJson([a]);
    assert.ok(json.startsWith('{\n    "keys": [\n        {\n'), json);
    const parsed = JSON.parse(json) as { keys: Array<Record<string, string>> };
    assert.deepEqual(Object.keys(parsed.keys[0] ?? {}).sort(), ['crv', 'kid', 'kty', 'x', 'y']);
    assert.equal(jwksJson([]), '{\n    "keys": []\n}');
  });
});
