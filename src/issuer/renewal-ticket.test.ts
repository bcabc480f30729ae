import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { newKeyPair } from './keygen.js';
import { encodeTicket, MAX_TICKET_BYTES, type RenewalTicket, ticketKeyFor, verifyTicket } from './renewal-ticket.js';

const TICKET: RenewalTicket = {
  spiffeId: 'spiffe://cluster.local/ns/web/sa/default',
  node: 'node-1',
  keyFingerprint: randomBytes(32),
  attestedAtMs: 1_900_000_000_123,
  expiresAtMs: 1_900_086_400_123,
};

test('a ticket round-trips under its key and names the key it verified under', () => {
  const [old, current] = [randomBytes(32), randomBytes(32)];
  const bytes = encodeTicket(TICKET, old);
  const verified = verifyTicket(bytes, [current, old]);
  assert.ok(typeof verified === 'object');
  assert.deepEqual(verified.ticket, TICKET);
  assert.equal(verified.keyIndex, 1);
});

test('a ticket under another key, or altered in any byte, does not verify', () => {
  const key = randomBytes(32);
  const bytes = encodeTicket(TICKET, key);
  assert.equal(verifyTicket(bytes, [randomBytes(32)]), 'unknown_key');
  assert.equal(verifyTicket(bytes, []), 'unknown_key');
  for (let i = 1; i < bytes.length; i++) {
    const altered = Buffer.from(bytes);
    altered[i] = (altered[i] as number) ^ 0x01;
    const result = verifyTicket(altered, [key]);
    assert.ok(result === 'unknown_key' || result === 'malformed', `byte ${i}`);
  }
});

test('malformed tickets are named so without reading past the input', () => {
  const key = randomBytes(32);
  const bytes = encodeTicket(TICKET, key);
  assert.equal(verifyTicket(Buffer.alloc(0), [key]), 'malformed');
  assert.equal(verifyTicket(bytes.subarray(0, 60), [key]), 'malformed');
  assert.equal(verifyTicket(Buffer.concat([bytes, Buffer.of(0)]), [key]), 'malformed');
  assert.equal(verifyTicket(Buffer.alloc(MAX_TICKET_BYTES + 1), [key]), 'malformed');
  const otherVersion = Buffer.from(bytes);
  otherVersion[0] = 2;
  assert.equal(verifyTicket(otherVersion, [key]), 'malformed');
});

test('encodeTicket refuses fields that do not fit the layout', () => {
  const key = randomBytes(32);
  assert.throws(() => encodeTicket({ ...TICKET, node: '' }, key), TypeError);
  assert.throws(() => encodeTicket({ ...TICKET, keyFingerprint: Buffer.alloc(20) }, key), TypeError);
  assert.throws(() => encodeTicket({ ...TICKET, attestedAtMs: -1 }, key), TypeError);
  assert.throws(() => encodeTicket({ ...TICKET, spiffeId: `spiffe://td/${'a'.repeat(2048)}` }, key), TypeError);
});

test('the ticket key is the same for one issuer key in any file format, and differs between keys', () => {
  const { privateKey } = newKeyPair('ec', { namedCurve: 'P-256' });
  const sec1 = createPrivateKey(privateKey.export({ type: 'sec1', format: 'pem' }));
  const pkcs8 = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  assert.deepEqual(ticketKeyFor(sec1), ticketKeyFor(pkcs8));
  assert.equal(ticketKeyFor(sec1).length, 32);
  const other = newKeyPair('ec', { namedCurve: 'P-384' }).privateKey;
  assert.notDeepEqual(ticketKeyFor(other), ticketKeyFor(sec1));
  assert.throws(() => ticketKeyFor(newKeyPair('ed25519').privateKey), TypeError);
});
