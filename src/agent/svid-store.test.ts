import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { attestedAs, type FailSwitch, HOUR, storeHarness, webIdentity } from '../../test/support/store-harness.js';
import type { X509SvidRequest } from './x509-svid-issuer.js';

const web = attestedAs(webIdentity, 'pod-1');
const setup = (fail?: FailSwitch) => storeHarness(fail ? { fail } : {});

test('callers of one identity share one SVID, issued for a key the store generated', async () => {
  const { store, requests } = setup();
  const [a, b] = await Promise.all([store.acquire(web), store.acquire(web)]);
  assert.equal(requests.length, 1);
  assert.equal(a?.current(), b?.current());
  const request = requests[0] as X509SvidRequest;
  assert.equal(request.identity, webIdentity);
  assert.equal(request.reason, 'first-issuance');
  assert.deepEqual(request.attestation, web.attestation, 'the attestation goes with it, as evidence for a remote issuer');
  assert.equal(request.key.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const spki = createPublicKey(request.key.privateKey).export({ type: 'spki', format: 'der' });
  assert.deepEqual(request.key.publicKeySpki, spki);
  assert.deepEqual(a?.current().key.pkcs8, request.key.privateKey.export({ type: 'pkcs8', format: 'der' }));
  assert.equal(a?.current().chainDer.toString(), 'leaf-1issuer');
  assert.equal(JSON.stringify(request.key), '"[workload key]"', 'the key never reaches a log line');
});

test('a rotation asks with a fresh key, the previous SVID and its ticket, and the newest holder', async () => {
  const { store, t, requests } = setup();
  const first = await store.acquire(web);
  const newer = attestedAs(webIdentity, 'pod-3');
  const second = await store.acquire(newer);
  await t.advance(Math.floor(24 * HOUR * 0.7));
  const rotation = requests[1] as X509SvidRequest;
  assert.equal(rotation.reason, 'rotation');
  assert.ok(rotation.reason === 'rotation' && rotation.previous.renewalTicket === 'ticket-1');
  assert.ok(rotation.reason === 'rotation' && rotation.previous.key === (requests[0] as X509SvidRequest).key);
  assert.notEqual(rotation.key, (requests[0] as X509SvidRequest).key);
  assert.equal(rotation.attestation, newer.attestation);
  assert.ok(rotation.reason === 'rotation');
  assert.deepEqual(rotation.holders, [newer.attestation, web.attestation], 'every holder, newest first');
  assert.deepEqual(rotation.previous.leaf, Buffer.from('leaf-1'));
  second.release();
  await t.advance(Math.floor(24 * HOUR * 0.7));
  assert.equal((requests[2] as X509SvidRequest).attestation, web.attestation, 'the newest holder still connected');
  first.release();
});

test('rotation at 70 % of the lifetime reaches every subscriber', async () => {
  const { store, t } = setup();
  const lease = await store.acquire(web);
  assert.deepEqual(t.delays(), [Math.floor(24 * HOUR * 0.7), 24 * HOUR], 'rotation, and the expiry cut-off');
  const seen: string[] = [];
  lease.subscribe((svid) => seen.push(svid.serialHex));
  await t.advance(Math.floor(24 * HOUR * 0.7));
  assert.deepEqual(seen, ['2']);
  assert.equal(lease.current().serialHex, '2');
});

test('the last release drops the identity and its timer', async () => {
  const { store, t } = setup();
  const a = await store.acquire(web);
  const b = await store.acquire(web);
  a.release();
  a.release();
  assert.equal(store.size(), 1);
  b.release();
  assert.equal(store.size(), 0);
  assert.deepEqual(t.delays(), []);
});

test('a failed first issuance rejects its callers and does not poison later ones', async () => {
  const fail = { next: true };
  const { store } = setup(fail);
  await assert.rejects(store.acquire(web), { code: 'ISSUER_NOT_READY' });
  assert.equal(store.size(), 0);
  fail.next = false;
  const lease = await store.acquire(web);
  assert.equal(lease.current().serialHex, '2');
});

test('a failed rotation keeps the current SVID and retries with backoff', async () => {
  const fail = { next: false };
  const { store, t } = setup(fail);
  const lease = await store.acquire(web);
  fail.next = true;
  await t.advance(Math.floor(24 * HOUR * 0.7));
  assert.equal(lease.current().serialHex, '1');
  assert.equal(t.delays()[0], 500, 'the first retry comes after half of 1 s (random 0)');
  fail.next = false;
  await t.advance(500);
  assert.equal(lease.current().serialHex, '3');
});
