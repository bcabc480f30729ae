/**
 * An SVID store on a test-driven clock and timers, with an issuing port that signs nothing: it
 * records requests and fails on demand. For the store's unit tests.
 */

import { createSvidStore, type IdentityHolder, type SvidStore, type Timers } from '../../src/agent/svid-store.js';
import type { X509SvidIssuer, X509SvidRequest } from '../../src/agent/x509-svid-issuer.js';
import { AgentError } from '../../src/errors.js';
import { type WorkloadIdentity, workloadIdentityFor } from '../../src/identity.js';
import { silentLogger } from '../../src/log.js';

export const HOUR = 3_600_000;
const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
export const webIdentity = workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: 'web' }, naming);
export const apiIdentity = workloadIdentityFor({ type: 'serviceaccount', namespace: 'ns', name: 'api' }, naming);

/** A holder of `identity` attested in pod `podUid`. */
export const attestedAs = (identity: WorkloadIdentity, podUid: string): IdentityHolder => ({
  identity,
  attestation: { account: identity.account, attestor: 'k8s', podUid, token: `token-of-${podUid}` },
});

/** Timers driven by the test: `advance(ms)` fires what is due, in order. */
export function manualTimers(clock: { ms: number }) {
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
    async advance(ms: number) {
      const until = clock.ms + ms;
      for (;;) {
        const due = [...pending].filter(([, p]) => p.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        pending.delete(due[0]);
        clock.ms = Math.max(clock.ms, due[1].at);
        due[1].fn();
        await settle();
      }
      clock.ms = until;
      await settle();
    },
  };
}

/** Fails the port's calls while `down` is true. */
export interface FailSwitch {
  next: boolean;
}

/** An issuing port that records requests and returns `lifetimeMs` of validity and a ticket. */
export function fakeIssuer(clock: { ms: number }, fail: FailSwitch = { next: false }, lifetimeMs = 24 * HOUR) {
  const requests: X509SvidRequest[] = [];
  const issuer: X509SvidIssuer = {
    async issueX509Svid(request) {
      requests.push(request);
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
export function storeHarness(options: { fail?: FailSwitch; random?: () => number; lifetimeMs?: number } = {}): {
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
    refresh: { minRefreshMs: 10_000, maxRefreshMs: 24 * HOUR },
    clock: { now: () => clock.ms },
    logger: silentLogger(),
    timers: t.timers,
    random: options.random ?? (() => 0),
  });
  return { store, clock, t, requests };
}
