import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { ecdsaSchemeFor } from './curves.js';
import * as der from './der.js';
import { p256EncodingsOfParts, pkcs8Of, publicKeyFromSpki, spkiOf } from './ec-keys.js';
import { newKeyPair } from './keygen.js';
import { keyIdentifier } from './x509-encoding.js';

const keys: Array<[string, KeyObject]> = [
  ['ec p-256', newKeyPair('ec', { namedCurve: 'P-256' }).privateKey],
  ['ec p-384', newKeyPair('ec', { namedCurve: 'P-384' }).privateKey],
  ['ec p-521', newKeyPair('ec', { namedCurve: 'P-521' }).privateKey],
  ['ec secp256k1', newKeyPair('ec', { namedCurve: 'secp256k1' }).privateKey],
  ['ed25519', newKeyPair('ed25519').privateKey],
  ['rsa', newKeyPair('rsa', { modulusLength: 1024 }).privateKey],
];
const nodeSpki = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });

describe('spkiOf and publicKeyFromSpki', () => {
  for (const [label, privateKey] of keys) {
    it(`match node:crypto's own encoding and decoding (${label})`, () => {
      const want = nodeSpki(privateKey);
      assert.deepEqual(spkiOf(privateKey), want);
      assert.deepEqual(spkiOf(createPublicKey(privateKey)), want);
      const key = publicKeyFromSpki(want);
      assert.equal(key.type, 'public');
      assert.ok(key.equals(createPublicKey(privateKey)));
    });
  }

  it('keeps the leading zeros of short coordinates', () => {
    for (let i = 0; i < 200; i++) {
      const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
      assert.deepEqual(spkiOf(privateKey), nodeSpki(privateKey));
    }
  });

  it('rejects a point that is not on the curve, and reads compressed points', () => {
    const spki = Buffer.from(nodeSpki(keys[0]?.[1] as KeyObject));
    spki[spki.length - 1] = (spki[spki.length - 1] as number) ^ 1;
    assert.throws(() => publicKeyFromSpki(spki));
    // x and y are the last 64 octets of a P-256 SPKI (no JWK export: see spkiOf).
    const x = spki.subarray(-64, -32);
    const yOdd = ((nodeSpki(keys[0]?.[1] as KeyObject)[spki.length - 1] as number) & 1) === 1;
    const point = Buffer.concat([Uint8Array.of(yOdd ? 0x03 : 0x02), x]);
    const [algorithm] = der.childrenOf(der.decode(spki));
    const key = publicKeyFromSpki(der.sequence((algorithm as der.DerElement).raw, der.bitString(point)));
    assert.ok(key.equals(createPublicKey(keys[0]?.[1] as KeyObject)));
  });
});

describe('keyIdentifier', () => {
  it('is the SHA-1 of the key bits (20 octets) and rejects non-SPKI input', () => {
    assert.equal(keyIdentifier(spkiOf(keys[0]?.[1] as KeyObject)).length, 20);
    assert.throws(() => keyIdentifier(Buffer.from('3000', 'hex')), /malformed der/);
  });
});

describe('ecdsaSchemeFor', () => {
  it('maps P-256 to SHA-256 and P-384 to SHA-384, and names anything else', () => {
    assert.equal(ecdsaSchemeFor(keys[0]?.[1] as KeyObject, 'k').hash, 'sha256');
    assert.equal(ecdsaSchemeFor(keys[1]?.[1] as KeyObject, 'k').hash, 'sha384');
    assert.throws(
      () => ecdsaSchemeFor(keys[3]?.[1] as KeyObject, 'test key'),
      /^TypeError: test key must be an ec p-256 or p-384 private key, found ec secp256k1$/,
    );
    assert.throws(() => ecdsaSchemeFor(keys[5]?.[1] as KeyObject, 'test key'), /found rsa$/);
  });
});

describe('pkcs8Of', () => {
  it('is byte for byte what OpenSSL writes, for every NIST curve and other key types', () => {
    for (const namedCurve of ['P-256', 'P-384', 'P-521']) {
      const { privateKey } = newKeyPair('ec', { namedCurve });
      assert.ok(pkcs8Of(privateKey).equals(privateKey.export({ type: 'pkcs8', format: 'der' })), namedCurve);
    }
    const { privateKey: ed } = newKeyPair('ed25519');
    assert.ok(pkcs8Of(ed).equals(ed.export({ type: 'pkcs8', format: 'der' })));
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
