/**
 * The SVID store's test harness: a store on manual timers and an issuing port that records its
 * requests and fails or waits on command. Test code only (left out of the build).
 */
import { AgentError } from '../errors.js';
import { type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import { silentLogger } from '../log.js';
import { createSvidStore, type IdentityHolder, type SvidLease, type SvidStore } from './svid-store.js';
import type { Timers } from './timers.js';
import type { X509SvidIssuer, X509SvidRequest } from './x509-svid-issuer.js';

export const HOUR = 3_600_000;
export const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
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
export interface FailSwitch {
  next: boolean;
  hold?: Promise<void>;
}

/** An issuing port that records requests and returns `lifetimeMs` of validity and a ticket. */
export function fakeIssuer(clock: { ms: number }, fail: FailSwitch = { next: false }, lifetimeMs = 24 * HOUR) {
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
export function storeHarness(options: { fail?: FailSwitch; random?: () => number; lifetimeMs?: number; idleTtlMs?: number } = {}): {
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

export const web = attestedAs(webIdentity, 'pod-1');
export const api = attestedAs(apiIdentity, 'pod-2');
/** The common case: a fail switch, an idle TTL, and a gate that every issuance waits for. */
export function setup(fail: FailSwitch = { next: false }, options: { idleTtlMs?: number; gate?: Promise<void> } = {}) {
  if (options.gate) fail.hold = options.gate;
  return storeHarness({ fail, ...(options.idleTtlMs !== undefined ? { idleTtlMs: options.idleTtlMs } : {}) });
}

/** Holds the port's next calls until the returned function is called (a rotation in flight). */
export function holdRotation(fail: FailSwitch): () => void {
  let release: () => void = () => undefined;
  fail.hold = new Promise<void>((resolve) => {
    release = () => {
      fail.hold = undefined;
      resolve();
    };
  });
  return release;
}

/** What a lease sees: SVIDs pushed to it and the reason it ended, if it did. */
export function watch(lease: SvidLease): { pushed: string[]; ended: unknown[] } {
  const seen = { pushed: [] as string[], ended: [] as unknown[] };
  lease.subscribe((svid) => seen.pushed.push(svid.serialHex));
  lease.onEnd((reason) => seen.ended.push(reason));
  return seen;
}
