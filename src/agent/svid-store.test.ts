import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { workloadIdentityFor } from '../identity.js';
import { MAX_IDLE_IDENTITIES } from './svid-store.js';
import { api, attestedAs, HOUR, naming, setup, web, webIdentity } from './svid-store.test-support.js';
import type { X509SvidRequest } from './x509-svid-issuer.js';

// === one SVID per identity ===

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

// === idle identities (--svid-idle-ttl, issue 13) ===

const MINUTE = 60_000;

test('an identity nobody holds is kept for the idle TTL with no timer, and reused without issuing', async () => {
  const { store, t, requests, clock } = setup(undefined, { idleTtlMs: MINUTE });
  const first = await store.acquire(web);
  first.release();
  assert.equal(store.size(), 1);
  assert.deepEqual(t.delays(), [], 'no timer runs for an idle identity');
  clock.ms += MINUTE - 1;
  const again = await store.acquire(attestedAs(webIdentity, 'pod-9'));
  assert.equal(requests.length, 1, 'the issuance is reused');
  assert.equal(again.current().serialHex, '1');
  assert.deepEqual(
    t.delays(),
    [Math.floor(24 * HOUR * 0.7) - (MINUTE - 1), 24 * HOUR - (MINUTE - 1)],
    'the rotation and the expiry timer are armed again for what is left',
  );
  again.release();
});

test('past the idle TTL it is dropped by the next access to the store, and issued afresh', async () => {
  const { store, requests, clock } = setup(undefined, { idleTtlMs: MINUTE });
  (await store.acquire(web)).release();
  (await store.acquire(api)).release();
  clock.ms += MINUTE;
  assert.equal(store.size(), 0, 'swept when read, without a timer');
  const lease = await store.acquire(web);
  assert.equal(requests.length, 3);
  assert.equal((requests[2] as X509SvidRequest).reason, 'first-issuance');
  lease.release();
});

test('taken again past its refresh point, it is re-issued for the new caller before it is handed out', async () => {
  const { store, requests, clock } = setup(undefined, { idleTtlMs: 48 * HOUR });
  (await store.acquire(web)).release();
  clock.ms += Math.floor(24 * HOUR * 0.7);
  const newer = attestedAs(webIdentity, 'pod-7');
  const lease = await store.acquire(newer);
  assert.equal(requests.length, 2);
  const rotation = requests[1] as X509SvidRequest;
  assert.equal(rotation.reason, 'rotation');
  assert.equal(rotation.attestation, newer.attestation, 'asked with the attestation of the caller taking it');
  assert.equal(lease.current().serialHex, '2');
  lease.release();
});

test('an idle identity whose SVID expired is dropped quietly and issued afresh, never handed out', async () => {
  const { store, requests, clock, t } = setup(undefined, { idleTtlMs: 48 * HOUR });
  (await store.acquire(web)).release();
  clock.ms += 24 * HOUR;
  const lease = await store.acquire(web);
  assert.equal(requests.length, 2);
  assert.equal((requests[1] as X509SvidRequest).reason, 'first-issuance', 'no rotation from an expired SVID');
  assert.equal(lease.current().serialHex, '2');
  assert.equal(t.delays().length, 2, 'rotation and expiry timers for the new SVID only');
  lease.release();
});

test('an issuer swap drops idle identities and re-issues held ones', async () => {
  const { store, t, requests } = setup(undefined, { idleTtlMs: MINUTE });
  (await store.acquire(web)).release();
  const held = await store.acquire(api);
  store.reissueAll(5_000);
  assert.equal(store.size(), 1, 'only the held identity is left');
  await t.advance(0);
  assert.equal(requests.length, 3);
  assert.equal(held.current().serialHex, '3');
  const again = await store.acquire(web);
  assert.equal((requests[3] as X509SvidRequest).reason, 'first-issuance', 'the idle one was issued afresh, by the new issuer');
  again.release();
  held.release();
});

test(`at most ${MAX_IDLE_IDENTITIES} idle identities are kept; the longest idle goes first`, async () => {
  const { store, requests } = setup(undefined, { idleTtlMs: MINUTE });
  const account = (n: number) => workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: `sa-${n}` }, naming);
  for (let n = 0; n <= MAX_IDLE_IDENTITIES; n++) (await store.acquire(attestedAs(account(n), 'pod'))).release();
  assert.equal(store.size(), MAX_IDLE_IDENTITIES);
  (await store.acquire(attestedAs(account(MAX_IDLE_IDENTITIES), 'pod'))).release();
  assert.equal(requests.length, MAX_IDLE_IDENTITIES + 1, 'the newest idle one is still there');
  (await store.acquire(attestedAs(account(0), 'pod'))).release();
  assert.equal(requests.length, MAX_IDLE_IDENTITIES + 2, 'the longest idle one had gone');
});

test('concurrent first callers share one issuance, and callers that cancel do not cause another', async () => {
  for (const idleTtlMs of [0, MINUTE]) {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const { store, requests } = setup(undefined, { idleTtlMs, gate });
    const cancelled = Array.from({ length: 20 }, () => {
      const controller = new AbortController();
      const acquired = store.acquire(web, { signal: controller.signal });
      controller.abort();
      return acquired;
    });
    for (const acquired of cancelled) await assert.rejects(acquired, { code: 'CANCELLED' });
    const waiting = store.acquire(web);
    open();
    const lease = await waiting;
    assert.equal(requests.length, 1, `one issuance at idle TTL ${idleTtlMs}`);
    lease.release();
    assert.equal(store.size(), idleTtlMs === 0 ? 0 : 1);
  }
});
