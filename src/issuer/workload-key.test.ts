import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { p256EncodingsOfParts } from './ec-keys.js';
import { newKeyPair } from './keygen.js';
import { generateWorkloadKey } from './workload-key.js';

describe('generateWorkloadKey', () => {
  it('makes a P-256 key whose PKCS#8 and SPKI are what Node exports for it', () => {
    const key = generateWorkloadKey();
    const imported = createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' });
    assert.equal(imported.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.deepEqual(imported.export({ type: 'pkcs8', format: 'der' }), key.pkcs8);
    assert.deepEqual(createPublicKey(imported).export({ type: 'spki', format: 'der' }), key.publicKeySpki);
    const signature = sign('sha256', Buffer.from('svid'), key.privateKey);
    assert.ok(verify('sha256', Buffer.from('svid'), createPublicKey({ key: key.publicKeySpki, format: 'der', type: 'spki' }), signature));
  });

  it('makes a new key every time, each with its own public half, though one ECDH object makes them all', () => {
    const keys = Array.from({ length: 50 }, generateWorkloadKey);
    assert.equal(new Set(keys.map((k) => k.pkcs8.toString('hex'))).size, keys.length);
    for (const key of keys) {
      const derived = createPublicKey(createPrivateKey({ key: key.pkcs8, format: 'der', type: 'pkcs8' }));
      assert.deepEqual(derived.export({ type: 'spki', format: 'der' }), key.publicKeySpki);
    }
  });
});

describe('p256EncodingsOfParts', () => {
  /** A P-256 key's raw parts as `crypto.ECDH` gives them, and Node's own encodings of it. */
  function partsOf() {
    const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
    const jwk = privateKey.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.of(4), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
    return {
      scalar: Buffer.from(jwk.d as string, 'base64url'),
      point,
      pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }),
      spki: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }),
    };
  }

  it('encodes a key byte for byte as Node exports it', () => {
    const { scalar, point, pkcs8, spki } = partsOf();
    assert.deepEqual(p256EncodingsOfParts(scalar, point), { spki, pkcs8 });
  });

  it('pads a scalar that Node hands out shorter than 32 octets, as it does for one key in 256', () => {
    // 20,000 tries miss a key with a leading zero octet with odds of e^-78.
    for (let i = 0; i < 20_000; i++) {
      const { scalar, point, pkcs8 } = partsOf();
      if (scalar[0] !== 0) continue;
      const encoded = p256EncodingsOfParts(scalar.subarray(1), point);
      assert.deepEqual(encoded?.pkcs8, pkcs8);
      return;
    }
    assert.fail('no P-256 key with a leading zero octet in 20,000');
  });

  it('refuses parts of other lengths', () => {
    const { scalar, point } = partsOf();
    assert.equal(p256EncodingsOfParts(Buffer.alloc(0), point), undefined);
    assert.equal(p256EncodingsOfParts(Buffer.concat([Buffer.of(1), scalar]), point), undefined);
    assert.equal(p256EncodingsOfParts(scalar, point.subarray(1)), undefined);
    const compressed = Buffer.from(point);
    compressed[0] = 0x02;
    assert.equal(p256EncodingsOfParts(scalar, compressed), undefined);
  });
});
