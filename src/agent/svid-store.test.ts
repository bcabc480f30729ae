import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentError } from '../errors.js';
import { workloadIdentityFor } from '../identity.js';
import type { Certifier, CertifyRequest, CertifyResult } from '../issuer/index.js';
import { silentLogger } from '../log.js';
import { createAttestedGrants } from './attested-grants.js';
import { createSvidStore, type SvidStore, type Timers } from './svid-store.js';

const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const web = workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: 'web' }, naming);
const api = workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: 'api' }, naming);
const HOUR = 3_600_000;

/** Timers driven by the test: `advance(ms)` fires what is due. */
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
  return {
    timers,
    delays: () => [...pending.values()].map((p) => p.at - clock.ms).sort((a, b) => a - b),
    async advance(ms: number) {
      clock.ms += ms;
      for (const [id, p] of [...pending]) {
        if (p.at <= clock.ms) {
          pending.delete(id);
          p.fn();
        }
      }
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
  };
}

/** A certifier that signs nothing: it records requests and returns 24 h validity. */
function fakeCertifier(clock: { ms: number }, fail: { next: boolean } = { next: false }) {
  const requests: CertifyRequest[] = [];
  const certifier: Certifier = {
    async certify(request) {
      requests.push(request);
      if (fail.next) throw new AgentError('ISSUER_NOT_READY', 'cert issuer not ready yet');
      const result: CertifyResult = {
        leaf: Buffer.from(`leaf-${requests.length}`),
        intermediates: [Buffer.from('issuer')],
        notBefore: clock.ms,
        validUntil: clock.ms + 24 * HOUR,
        serialHex: String(requests.length),
        identity: request.identity === web.spiffeId ? web : api,
      };
      return result;
    },
  };
  return { certifier, requests };
}

function setup(fail = { next: false }): {
  store: SvidStore;
  clock: { ms: number };
  t: ReturnType<typeof manualTimers>;
  requests: CertifyRequest[];
} {
  const clock = { ms: 1_000_000 };
  const t = manualTimers(clock);
  const { certifier, requests } = fakeCertifier(clock, fail);
  const store = createSvidStore({
    certifier,
    grants: createAttestedGrants(),
    refresh: { minRefreshMs: 10_000, maxRefreshMs: 24 * HOUR },
    clock: { now: () => clock.ms },
    logger: silentLogger(),
    timers: t.timers,
  });
  return { store, clock, t, requests };
}

test('callers of one identity share one SVID; the agent asks Certify with the SPIFFE ID and a P-256 CSR', async () => {
  const { store, requests } = setup();
  const [a, b] = await Promise.all([store.acquire(web), store.acquire(web)]);
  assert.equal(requests.length, 1);
  assert.equal(a?.current(), b?.current());
  assert.equal(requests[0]?.identity, 'spiffe://cluster.local/ns/ns/sa/web');
  assert.ok((requests[0]?.csr.length ?? 0) > 100);
  assert.equal(a?.current().chainDer.toString(), 'leaf-1issuer');
});

test('rotation at 70 % of the lifetime reaches every subscriber', async () => {
  const { store, t } = setup();
  const lease = await store.acquire(web);
  assert.deepEqual(t.delays(), [Math.floor(24 * HOUR * 0.7)]);
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

test('a failed rotation keeps the current SVID and retries', async () => {
  const fail = { next: false };
  const { store, t } = setup(fail);
  const lease = await store.acquire(web);
  fail.next = true;
  await t.advance(Math.floor(24 * HOUR * 0.7));
  assert.equal(lease.current().serialHex, '1');
  assert.equal(t.delays().length, 1, 'a retry is scheduled');
  fail.next = false;
  await t.advance(t.delays()[0] as number);
  assert.equal(lease.current().serialHex, '3');
});

test('reissueAll spreads re-issuance over the window', async () => {
  const { store, t } = setup();
  await store.acquire(web);
  await store.acquire(api);
  store.reissueAll(5_000);
  assert.deepEqual(t.delays(), [0, 5_000]);
});
