import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { newKeyPair } from './keygen.js';

describe('newKeyPair', () => {
  it('makes matching halves of each key type, with their details and JWKs readable', () => {
    for (const namedCurve of ['P-256', 'P-384', 'P-521', 'secp256k1']) {
      const { privateKey, publicKey } = newKeyPair('ec', { namedCurve });
      assert.equal(privateKey.type, 'private');
      assert.ok(createPublicKey(privateKey).equals(publicKey), namedCurve);
      assert.equal(typeof privateKey.asymmetricKeyDetails?.namedCurve, 'string');
      assert.equal(publicKey.export({ format: 'jwk' }).kty, 'EC');
    }
    const ed = newKeyPair('ed25519');
    assert.deepEqual([ed.privateKey.asymmetricKeyType, ed.publicKey.asymmetricKeyType], ['ed25519', 'ed25519']);
    const rsa = newKeyPair('rsa', { modulusLength: 1024 });
    assert.equal(rsa.publicKey.asymmetricKeyDetails?.modulusLength, 1024);
  });
});
