import assert from 'node:assert/strict';
import { test } from 'node:test';
import { curveNamed, curveOf, EC_CURVES } from './curves.js';
import * as der from './der.js';
import { newKeyPair } from './keygen.js';

test('the curve table agrees with node:crypto: names, OIDs, coordinate lengths', () => {
  for (const curve of EC_CURVES) {
    const { privateKey, publicKey } = newKeyPair('ec', { namedCurve: curve.jwk });
    assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, curve.openssl);
    assert.equal(curveOf(publicKey), curve);
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const [algorithm, bits] = der.sequenceOf(der.decode(spki), 'spki');
    assert.equal(der.readOid(der.sequenceOf(algorithm, 'algorithm')[1]), curve.oid);
    assert.equal(der.readBitString(bits).bytes.length, 1 + 2 * curve.coordinateLength);
  }
  assert.deepEqual(
    EC_CURVES.filter((c) => c.certificates).map((c) => c.jwk),
    ['P-256', 'P-384'],
  );
  assert.equal(curveNamed('secp256k1'), undefined);
  assert.equal(curveOf(newKeyPair('ed25519').publicKey), undefined);
});
