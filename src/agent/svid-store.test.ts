import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { AgentError } from '../errors.js';
import { type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import { silentLogger } from '../log.js';
import { createSvidStore, type IdentityHolder, MAX_IDLE_IDENTITIES, type SvidStore, type Timers } from './svid-store.js';
import type { X509SvidIssuer, X509SvidRequest } from './x509-svid-issuer.js';

const HOUR = 3_600_000;
const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const webIdentity = workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: 'web' }, naming);
const apiIdentity = workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: 'api' }, naming);

/** A holder of `identity` attested in pod `podUid`. */
const attestedAs = (identity: WorkloadIdentity, podUid: string): IdentityHolder => ({
  identity,
  attestation: { account: identity.account, attestor: 'k8s', podUid, token: `token-of-${podUid}` },
});

/** Timers driven by the test: `advance(ms)` fires what is due, in order. */
function manualTimers(clock: { ms: number }) {
  const pending = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const timers: Timers = {
    setTimeout(fn, ms) {
      pending.set(++next, { at: clock.ms + ms, fn });
      return next;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  const settle = async () => {
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return {
    timers,
    /** Pending timers, as waits from now, shortest first. */
    delays: () => [...pending.values()].map((p) => p.at - clock.ms).sort((a, b) => a - b),
    /** Fires what is due, in order; `reversed`: latest first, as Node may after a stalled event loop. */
    async advance(ms: number, reversed = false) {
      const until = clock.ms + ms;
      for (;;) {
        const due = [...pending].filter(([, p]) => p.at <= until).sort((a, b) => (reversed ? b[1].at - a[1].at : a[1].at - b[1].at))[0];
        if (!due) break;
        pending.delete(due[0]);
        clock.ms = Math.max(clock.ms, reversed ? until : due[1].at);
        due[1].fn();
        await settle();
      }
      clock.ms = until;
      await settle();
    },
  };
}

/** Fails the port's calls while `next` is true; with `hold`, calls wait for it first (an issuer slow to answer). */
interface FailSwitch {
  next: boolean;
  hold?: Promise<void>;
}

/** An issuing port that records requests and returns `lifetimeMs` of validity and a ticket. */
function fakeIssuer(clock: { ms: number }, fail: FailSwitch = { next: false }, lifetimeMs = 24 * HOUR) {
  const requests: X509SvidRequest[] = [];
  const issuer: X509SvidIssuer = {
    async issueX509Svid(request) {
      requests.push(request);
      if (fail.hold) await fail.hold;
      if (fail.next) throw new AgentError('ISSUER_NOT_READY', 'cert issuer not ready yet');
      return {
        leaf: Buffer.from(`leaf-${requests.length}`),
        intermediates: [Buffer.from('issuer')],
        notBefore: clock.ms,
        notAfter: clock.ms + lifetimeMs,
        serialHex: String(requests.length),
        renewalTicket: `ticket-${requests.length}`,
      };
    },
  };
  return { issuer, requests };
}

/** A store on manual timers; `random` defaults to 0 (no jitter), `lifetimeMs` to 24 h. */
function storeHarness(options: { fail?: FailSwitch; random?: () => number; lifetimeMs?: number; idleTtlMs?: number } = {}): {
  store: SvidStore;
  clock: { ms: number };
  t: ReturnType<typeof manualTimers>;
  requests: X509SvidRequest[];
} {
  const clock = { ms: 1_000_000 };
  const t = manualTimers(clock);
  const { issuer, requests } = fakeIssuer(clock, options.fail, options.lifetimeMs);
  const store = createSvidStore({
    issuer,
    idleTtlMs: options.idleTtlMs ?? 0,
    refresh: { minRefreshMs: 10_000, maxRefreshMs: 24 * HOUR },
    clock: { now: () => clock.ms },
    logger: silentLogger(),
    timers: t.timers,
    random: options.random ?? (() => 0),
  });
  return { store, clock, t, requests };
}

const web = attestedAs(webIdentity, 'pod-1');
/** The common case: a fail switch, an idle TTL, and a gate that every issuance waits for. */
function setup(fail: FailSwitch = { next: false }, options: { idleTtlMs?: number; gate?: Promise<void> } = {}) {
  if (options.gate) fail.hold = options.gate;
  return storeHarness({ fail, ...(options.idleTtlMs !== undefined ? { idleTtlMs: options.idleTtlMs } : {}) });
}

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

// === the store while its issuer fails (a central issuer unreachable) ===

const api = attestedAs(apiIdentity, 'pod-2');

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
  const ended: unknown[] = [];
  lease.onEnd((reason) => ended.push(reason));
  const pushed: string[] = [];
  lease.subscribe((svid) => pushed.push(svid.serialHex));
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
function holdRotation(fail: FailSwitch): () => void {
  let release: () => void = () => undefined;
  fail.hold = new Promise<void>((resolve) => {
    release = () => {
      fail.hold = undefined;
      resolve();
    };
  });
  return release;
}

test('an SVID whose expiry comes while its rotation is in flight is replaced by the successor, not ended', async () => {
  const fail = { next: false } as FailSwitch;
  const { store, t } = storeHarness({ fail, lifetimeMs: HOUR });
  const lease = await store.acquire(web);
  const ended: unknown[] = [];
  lease.onEnd((reason) => ended.push(reason));
  const pushed: string[] = [];
  lease.subscribe((svid) => pushed.push(svid.serialHex));
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
  const ended: unknown[] = [];
  lease.onEnd((reason) => ended.push(reason));
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
  const ended: unknown[] = [];
  lease.onEnd((reason) => ended.push(reason));
  const pushed: string[] = [];
  lease.subscribe((svid) => pushed.push(svid.serialHex));
  await t.advance(HOUR, true);
  assert.deepEqual(ended, []);
  assert.deepEqual(pushed, ['2'], 'the rotation that was due ran, once');
  fail.next = true;
  await t.advance(HOUR, true);
  assert.equal(ended.length, 1, 'a rotation that fails ends the expired SVID');
  assert.equal(store.size(), 0);
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
