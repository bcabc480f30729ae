import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newKeyPair } from './keygen.js';
import { keyFingerprint, renewalProofMessage, signRenewalProof, verifyRenewalProof } from './renewal-proof.js';

const ticket = Buffer.from('ticket bytes');
const csr = Buffer.from('csr bytes');

test('a proof by the current key verifies over exactly its ticket and csr', () => {
  const { privateKey, publicKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  const signature = signRenewalProof(privateKey, ticket, csr);
  assert.equal(verifyRenewalProof(publicKey, ticket, csr, signature), true);
  assert.equal(verifyRenewalProof(publicKey, Buffer.from('other ticket'), csr, signature), false);
  assert.equal(verifyRenewalProof(publicKey, ticket, Buffer.from('other csr'), signature), false);
  const other = newKeyPair('ec', { namedCurve: 'P-256' }).publicKey;
  assert.equal(verifyRenewalProof(other, ticket, csr, signature), false, 'a certificate presented without its key');
  assert.equal(verifyRenewalProof(publicKey, ticket, csr, Buffer.alloc(0)), false);
  assert.equal(verifyRenewalProof(publicKey, ticket, csr, Buffer.from('not der')), false);
});

test('the signed message is separated from other uses of the key', () => {
  assert.deepEqual(renewalProofMessage(ticket, csr).subarray(0, 22), Buffer.from('svid-agent renewal v1\0'));
  const rsa = newKeyPair('rsa', { modulusLength: 1024 });
  assert.throws(() => signRenewalProof(rsa.privateKey, ticket, csr), TypeError);
  assert.equal(verifyRenewalProof(rsa.publicKey, ticket, csr, Buffer.from([1])), false);
});

test('a key fingerprint is SHA-256 of the SPKI DER', () => {
  const { publicKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(keyFingerprint(spki).toString('hex').length, 64);
  assert.deepEqual(keyFingerprint(spki), keyFingerprint(Buffer.from(spki)));
});
