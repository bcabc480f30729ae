/** The SVID store while its issuer fails (a central issuer unreachable): backoff, jitter, expiry. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { api, attestedAs, type FailSwitch, HOUR, holdRotation, storeHarness, watch, web, webIdentity } from './svid-store.test-support.js';

// === the store while its issuer fails (a central issuer unreachable) ===

/** Returns the given values in turn, then the last one forever. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)] as number;
}

test('renewal comes up to 5 % before 70 % of the lifetime, as the injected randomness says', async () => {
  const { store, t } = storeHarness({ random: () => 0.5 });
  await store.acquire(web);
  assert.equal(t.delays()[0], Math.floor(24 * HOUR * 0.7 * 0.975));
});

test('failed rotations back off 1 s, 2 s, 4 s … (each halved at random) and start over after a success', async () => {
  const fail = { next: false };
  const { store, t, requests } = storeHarness({ fail, random: () => 0 });
  const lease = await store.acquire(web);
  fail.next = true;
  await t.advance(Math.floor(24 * HOUR * 0.7));
  const retries: number[] = [];
  for (let i = 0; i < 4; i++) {
    const next = t.delays()[0] as number;
    retries.push(next);
    await t.advance(next);
  }
  assert.deepEqual(retries, [500, 1_000, 2_000, 4_000]);
  assert.equal(lease.current().serialHex, '1', 'the current SVID is still served');
  fail.next = false;
  await t.advance(t.delays()[0] as number);
  assert.equal(lease.current().serialHex, String(requests.length), 'the next SVID as soon as the issuer answers');
  fail.next = true;
  await t.advance(t.delays()[0] as number);
  assert.equal(t.delays()[0], 500, 'the backoff starts over');
});

test('an SVID that expires unrenewed ends its leases with the last failure and drops the identity', async () => {
  const fail = { next: false };
  const { store, t, requests } = storeHarness({ fail, lifetimeMs: HOUR });
  const lease = await store.acquire(web);
  const { ended, pushed } = watch(lease);
  fail.next = true;
  await t.advance(HOUR - 1);
  assert.deepEqual(ended, [], 'still valid: still served');
  assert.equal(store.size(), 1);
  await t.advance(1);
  assert.equal(ended.length, 1);
  assert.equal((ended[0] as { code?: string } | undefined)?.code, 'ISSUER_NOT_READY');
  assert.deepEqual(pushed, [], 'nothing was pushed');
  assert.equal(store.size(), 0);
  assert.deepEqual(t.delays(), [], 'no timer is left');
  const before = requests.length;
  await assert.rejects(store.acquire(web), { code: 'ISSUER_NOT_READY' });
  assert.equal(requests.length, before + 1, 'a new caller asks for a new SVID');
  lease.release();
});

test('an expired SVID is never handed out, even before its expiry timer ran', async () => {
  const fail = { next: false };
  const { store, clock, requests } = storeHarness({ fail, lifetimeMs: HOUR });
  const first = await store.acquire(web);
  clock.ms += HOUR;
  const second = await store.acquire(attestedAs(webIdentity, 'pod-3'));
  assert.notEqual(second.current().serialHex, first.current().serialHex);
  assert.equal(requests.at(-1)?.reason, 'first-issuance');
});

test('reissueAll puts each identity at a random moment of the window, never later than it was due', async () => {
  const { store, t } = storeHarness({ random: sequence(0, 0, 0.25, 0.75) });
  await store.acquire(web);
  await store.acquire(api);
  store.reissueAll(5 * 60_000);
  assert.deepEqual(t.delays().slice(0, 2), [75_000, 225_000]);
  await t.advance(75_000);
  const dueSoon = t.delays()[0] as number;
  store.reissueAll(10 * 24 * HOUR);
  assert.equal(t.delays()[0], dueSoon, 'a wider window does not postpone a rotation');
});

// === an expiry timer that runs while the rotation due before it is still in flight (a busy event loop) ===

/** A rotation that hangs until `release()`, failing or not as `fail.next` then says. */
test('an SVID whose expiry comes while its rotation is in flight is replaced by the successor, not ended', async () => {
  const fail = { next: false } as FailSwitch;
  const { store, t } = storeHarness({ fail, lifetimeMs: HOUR });
  const lease = await store.acquire(web);
  const { ended, pushed } = watch(lease);
  const release = holdRotation(fail);
  await t.advance(HOUR);
  assert.deepEqual(ended, [], 'the rotation in flight decides');
  const waiting = store.acquire(attestedAs(webIdentity, 'pod-3'));
  release();
  const second = await waiting;
  assert.deepEqual(pushed, ['2']);
  assert.equal(second.current().serialHex, '2', 'a new caller waited for the successor: never the expired SVID');
  assert.deepEqual(ended, []);
});

test('an SVID whose rotation in flight fails after its expiry ends at once, with that failure', async () => {
  const fail = { next: false } as FailSwitch;
  const { store, t } = storeHarness({ fail, lifetimeMs: HOUR });
  const lease = await store.acquire(web);
  const { ended } = watch(lease);
  const release = holdRotation(fail);
  await t.advance(HOUR);
  fail.next = true;
  release();
  await t.advance(0);
  assert.equal((ended[0] as { code?: string } | undefined)?.code, 'ISSUER_NOT_READY');
  assert.equal(store.size(), 0);
  assert.deepEqual(t.delays(), [], 'no retry of an identity that is gone');
});

test('an expiry timer run before the renewal timer that was due first (a stalled event loop) rotates first', async () => {
  const fail = { next: false } as FailSwitch;
  const { store, t } = storeHarness({ fail, lifetimeMs: HOUR });
  const lease = await store.acquire(web);
  const { ended, pushed } = watch(lease);
  await t.advance(HOUR, true);
  assert.deepEqual(ended, []);
  assert.deepEqual(pushed, ['2'], 'the rotation that was due ran, once');
  fail.next = true;
  await t.advance(HOUR, true);
  assert.equal(ended.length, 1, 'a rotation that fails ends the expired SVID');
  assert.equal(store.size(), 0);
});
