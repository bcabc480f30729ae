import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { csrWithSpki, ecSpki, explicitParametersKey } from '../../test/support/csr-variants.js';
import { isAgentError } from '../errors.js';
import { parseCsr } from './csr.js';
import { canonicalSpki } from './csr-key.js';
import * as der from './der.js';
import { newKeyPair } from './keygen.js';

const DNS = 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local';
const spkiOf = (key: KeyObject): Buffer => (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });

describe('canonicalSpki', () => {
  for (const namedCurve of ['P-256', 'P-384']) {
    it(`${namedCurve}: keeps an uncompressed named-curve key and re-encodes compressed and hybrid points`, () => {
      const { privateKey } = newKeyPair('ec', { namedCurve });
      const want = spkiOf(privateKey);
      assert.deepEqual(canonicalSpki(want), want);
      for (const form of ['compressed', 'hybrid'] as const) {
        const given = ecSpki(privateKey, form);
        assert.notDeepEqual(given, want);
        assert.deepEqual(canonicalSpki(given), want, form);
        // node:crypto alone would keep the compressed form (measured on Node 20): hence our own re-encoding.
        if (form === 'compressed') assert.deepEqual(spkiOf(createPublicKey({ key: given, format: 'der', type: 'spki' })), given);
      }
    });
  }

  it('refuses explicit curve parameters with CSR_REJECTED', () => {
    const spki = spkiOf(explicitParametersKey());
    assert.ok(spki.length > 300, 'the openssl key really carries explicit parameters');
    assert.throws(
      () => canonicalSpki(spki),
      (err: unknown) =>
        isAgentError(err, 'CSR_REJECTED') &&
        (err as Error).message === 'CSR public key must name its curve; explicit EC parameters are not supported',
    );
  });

  it('refuses a compressed x that is not on the curve as malformed', () => {
    const spki = der.sequence(
      der.sequence(der.oid('1.2.840.10045.2.1'), der.oid('1.2.840.10045.3.1.7')),
      der.bitString(Buffer.concat([Buffer.from([0x02]), Buffer.alloc(32, 0xff)])),
    );
    assert.throws(
      () => canonicalSpki(spki),
      (err: unknown) => isAgentError(err, 'INVALID_REQUEST'),
    );
  });

  it('leaves other key types alone (Certify refuses them later, as Linkerd does)', () => {
    for (const key of [
      newKeyPair('ed25519').publicKey,
      newKeyPair('rsa', { modulusLength: 1024 }).publicKey,
      newKeyPair('ec', { namedCurve: 'secp256k1' }).publicKey,
    ]) {
      const spki = spkiOf(key);
      assert.equal(canonicalSpki(spki), spki);
    }
  });
});

describe('parseCsr public key', () => {
  it('gives the uncompressed named-curve SPKI for a CSR with a compressed key, and its signature verifies', () => {
    const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
    const csr = parseCsr(csrWithSpki(privateKey, ecSpki(privateKey, 'compressed'), [DNS]));
    assert.deepEqual(csr.publicKeySpki, spkiOf(privateKey));
    assert.equal(csr.verifySignature(), true);
  });

  it('refuses a CSR whose key has explicit curve parameters with CSR_REJECTED', () => {
    const privateKey = explicitParametersKey();
    assert.throws(
      () => parseCsr(csrWithSpki(privateKey, spkiOf(privateKey), [DNS])),
      (err: unknown) => isAgentError(err, 'CSR_REJECTED'),
    );
  });
});
