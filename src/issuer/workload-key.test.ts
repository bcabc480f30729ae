import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
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
