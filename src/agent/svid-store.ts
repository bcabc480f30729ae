/**
 * One X.509-SVID per identity, shared by every caller of that identity (docs/workload-api.md, issue 2).
 *
 * The first caller of an identity triggers issuance: the store generates the key and asks its
 * issuing port ({@link X509SvidIssuer}) for an SVID for that identity and key; later callers share
 * the result. Each identity rotates at 70 % of its remaining lifetime, clamped to [min, max], less
 * a few per cent at random (`renewalDelay`), with a fresh key, and every subscriber is told.
 * Concurrent first callers share one issuance.
 *
 * A failed rotation keeps the current SVID and is retried with jittered exponential backoff
 * (`backoffDelay`), so a new SVID follows soon after the issuer is back. An SVID that reaches its
 * `notAfter` without a successor is never served expired: its leases end with the last failure
 * (`onEnd`) and the identity is dropped, so the next caller asks for a new one.
 *
 * When the last caller of an identity leaves, the identity stays **idle** for `idleTtlMs`
 * (`--svid-idle-ttl`), so a client that reconnects, a CLI run or a storm of open/cancel calls
 * reuses its issuance instead of signing again; callers are still attested afresh, only the
 * issuance is reused. Idle identities run no timer (neither rotation nor expiry): they are dropped
 * when found expired or past their grace (on an acquire, or by the sweep every acquire, release
 * and size() call makes of the longest idle ones), and at most {@link MAX_IDLE_IDENTITIES} are
 * kept (the longest idle goes first). One that is acquired again past its renewal point, or issued
 * under an issuer since replaced, is re-issued before it is handed out; an issuer swap drops every
 * idle identity. `idleTtlMs` 0 drops an identity as soon as its last caller leaves (once its first
 * issuance, if still running, has settled).
 */
import { stopWaitingOnAbort } from '../abort.js';
import type { Attestation } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import { AgentError, describeError } from '../errors.js';
import type { WorkloadIdentity } from '../identity.js';
import { clampUnit, type RefreshPolicy, renewalDelay } from '../issuer/index.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { type BackoffPolicy, backoffDelay, ISSUER_RETRY } from './backoff.js';
import { createIdleLine } from './idle-line.js';
import type { IdentityHolder, IssuedSvid, SvidLease } from './svid-lease.js';
import { NODE_TIMERS, type Timers } from './timers.js';
import { issueWithFreshKey, type X509SvidIssuer } from './x509-svid-issuer.js';

export type { IdentityHolder, IssuedSvid, SvidLease } from './svid-lease.js';

/** Most idle identities kept; beyond it the longest idle is dropped. */
export const MAX_IDLE_IDENTITIES = 1000;

export interface SvidStoreOptions {
  /** The issuing port: the embedded issuer's signer, or a remote issuer. */
  readonly issuer: X509SvidIssuer;
  /** How long an identity nobody holds is kept for reuse (`--svid-idle-ttl`), ms; 0 drops it at once. Default 0. */
  readonly idleTtlMs?: number;
  readonly refresh: RefreshPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers?: Timers;
  /** Uniform in [0, 1): jitter of renewals, retries and re-issues; default `Math.random` (tests inject it). */
  readonly random?: () => number;
  /** Backoff of failed rotations; default {@link ISSUER_RETRY} (1 s doubling to 30 s). */
  readonly retry?: BackoffPolicy;
  /** Called after every successful issuance (metrics). */
  readonly onIssued?: (svid: IssuedSvid, rotation: boolean) => void;
}

export interface SvidStore {
  /**
   * Returns a lease on the holder's identity's SVID, issuing it first when needed.
   * Rejects with the issuer's error when the first issuance fails, and with `CANCELLED` as soon
   * as `signal` aborts (the issuance goes on for the identity's other callers).
   */
  acquire(holder: IdentityHolder, options?: { readonly signal?: AbortSignal }): Promise<SvidLease>;
  /**
   * After an issuer change: drops the idle identities and re-issues every held one, each at a
   * random moment within `spreadMs`, or sooner if its rotation was due sooner.
   */
  reissueAll(spreadMs: number): void;
  /** Number of identities held, idle ones included. */
  size(): number;
  /** Stops every timer; leases stay readable. */
  close(): void;
}

interface Entry {
  readonly identity: WorkloadIdentity;
  svid: IssuedSvid | undefined;
  /** Settles when the SVID a new caller should get is there (first issuance, or a re-issue on reacquire). */
  ready: Promise<void>;
  /** True until the first issuance has settled. */
  issuing: boolean;
  /** The issuer generation (bumped by `reissueAll`) the SVID was issued under. */
  generation: number;
  /** The attestations of the callers holding a lease, oldest first. */
  readonly holders: Attestation[];
  timer: unknown;
  /** Clock time the SVID is due for rotation (the timer fires then while someone holds it). */
  dueAt: number;
  /** Fires at the SVID's `notAfter`. */
  expiryTimer: unknown;
  /** Rotations failed in a row, and the last failure. */
  failures: number;
  lastError: unknown;
  /** The rotation in flight, if any. */
  rotation: Promise<void> | undefined;
  readonly listeners: Set<(svid: IssuedSvid) => void>;
  readonly endListeners: Set<(reason: unknown) => void>;
}

/** Longest wait a Node.js timer takes (2^31 - 1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createSvidStore(options: SvidStoreOptions): SvidStore {
  const { issuer, clock, refresh } = options;
  const timers = options.timers ?? NODE_TIMERS;
  const random = options.random ?? Math.random;
  const retry = options.retry ?? ISSUER_RETRY;
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'svid_store' });
  const idleTtlMs = options.idleTtlMs ?? 0;
  if (!(idleTtlMs >= 0)) throw new TypeError(`idleTtlMs must not be negative: ${options.idleTtlMs}`);
  const entries = new Map<string, Entry>();
  let closed = false;
  /** Bumped by every issuer change; an SVID issued under an older one is re-issued before reuse. */
  let issuerGeneration = 0;

  const logFields = (svid: IssuedSvid) => ({
    [LOG_FIELD.spiffeId]: svid.spiffeId,
    [LOG_FIELD.serial]: svid.serialHex,
    [LOG_FIELD.notAfter]: new Date(svid.notAfter).toISOString(),
  });

  const held = (entry: Entry): boolean => entries.get(entry.identity.spiffeId) === entry;

  /** Records when `entry` is due next and, while someone holds it, arms its rotation timer. */
  function schedule(entry: Entry, delayMs: number): void {
    timers.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.dueAt = clock.now() + delayMs;
    if (closed || entry.holders.length === 0) return;
    entry.timer = timers.setTimeout(() => void rotate(entry), delayMs);
  }

  /** Takes `svid` (issued under `generation`) into use: rotation and expiry timers follow it. */
  function install(entry: Entry, svid: IssuedSvid, generation: number): void {
    entry.svid = svid;
    entry.generation = generation;
    entry.failures = 0;
    entry.lastError = undefined;
    // Issued by an issuer replaced meanwhile: re-issue at once (when held; idle, on reacquire).
    schedule(entry, generation !== issuerGeneration ? 0 : renewalDelay(clock.now(), svid.notAfter, refresh, random));
    armExpiry(entry, svid);
  }

  /** Arms the expiry timer while someone holds `entry` (idle identities run no timer). */
  function armExpiry(entry: Entry, svid: IssuedSvid): void {
    timers.clearTimeout(entry.expiryTimer);
    entry.expiryTimer = undefined;
    if (closed || entry.holders.length === 0) return;
    const delay = Math.min(Math.max(0, svid.notAfter - clock.now()), MAX_TIMER_MS);
    entry.expiryTimer = timers.setTimeout(() => expiryDue(entry, svid), delay);
  }

  /**
   * The expiry timer. After a stalled event loop Node can run it before the renewal timer that was
   * due first (it orders timers of different durations by their lists, and a list keeps the
   * expiry of a timer cleared from it): then that rotation runs first, and its end decides.
   */
  function expiryDue(entry: Entry, svid: IssuedSvid): void {
    const now = clock.now();
    if (held(entry) && entry.svid === svid && !entry.rotation && entry.dueAt <= now && svid.notAfter <= now) {
      void rotate(entry);
      return;
    }
    expire(entry, svid);
  }

  /** Rotates `entry` unless a rotation is in flight already; resolves when it has ended, either way. */
  function rotate(entry: Entry): Promise<void> {
    const newest = entry.holders.at(-1);
    if (!held(entry) || newest === undefined) return Promise.resolve();
    entry.rotation ??= rotateFor(entry, newest).finally(() => {
      entry.rotation = undefined;
      // Its expiry waited for this rotation (`expire`): if there is no successor, it ends now.
      if (entry.svid && entry.svid.notAfter <= clock.now()) expire(entry, entry.svid);
    });
    return entry.rotation;
  }

  async function rotateFor(entry: Entry, newest: Attestation): Promise<void> {
    const generation = issuerGeneration;
    try {
      const svid = await issueWithFreshKey(issuer, entry.identity, newest, entry.svid && { svid: entry.svid, holders: entry.holders });
      if (!held(entry)) return;
      install(entry, svid, generation);
      log.info(logFields(svid), 'rotated svid');
      options.onIssued?.(svid, true);
      for (const listener of [...entry.listeners]) listener(svid);
    } catch (err) {
      if (!held(entry)) return;
      // Keep serving the current SVID and try again, backing off; the expiry timer ends it in time.
      entry.lastError = err;
      const retryMs = backoffDelay(entry.failures++, retry, random);
      log.warn(
        { [LOG_FIELD.spiffeId]: entry.identity.spiffeId, [LOG_FIELD.error]: describeError(err), retry_ms: retryMs },
        'svid rotation failed',
      );
      schedule(entry, retryMs);
    }
  }

  /** `svid` reached its `notAfter` with no successor: end its leases rather than serve it expired. */
  function expire(entry: Entry, svid: IssuedSvid): void {
    if (!held(entry) || entry.svid !== svid) return;
    if (svid.notAfter > clock.now()) {
      // Early (a timer capped at 2^31 - 1 ms): wait on.
      armExpiry(entry, svid);
      return;
    }
    // A rotation in flight (a call to the central issuer, say) decides: its successor replaces this
    // SVID, or, when it fails, `rotate` ends it then.
    if (entry.rotation) return;
    const reason = entry.lastError ?? new AgentError('INTERNAL', 'svid expired before it was renewed');
    log.warn(
      { ...logFields(svid), [LOG_FIELD.error]: describeError(reason) },
      'svid expired before it could be renewed; ending its streams',
    );
    const listeners = [...entry.endListeners];
    drop(entry, 'expired');
    for (const listener of listeners) listener(reason);
  }

  function drop(entry: Entry, why: string): void {
    timers.clearTimeout(entry.timer);
    timers.clearTimeout(entry.expiryTimer);
    entry.listeners.clear();
    entry.endListeners.clear();
    idle.delete(entry.identity.spiffeId);
    if (held(entry)) entries.delete(entry.identity.spiffeId);
    log.debug({ [LOG_FIELD.spiffeId]: entry.identity.spiffeId, [LOG_FIELD.reason]: why }, 'dropped identity');
  }

  // === idle identities ===

  /** Idle identities, longest idle first (`idle-line.ts`). */
  const idle = createIdleLine({ graceMs: idleTtlMs, max: MAX_IDLE_IDENTITIES, clock });

  /** The last caller left: keep the identity for reuse, or drop it. */
  function becameIdle(entry: Entry): void {
    timers.clearTimeout(entry.timer);
    timers.clearTimeout(entry.expiryTimer);
    entry.timer = undefined;
    entry.expiryTimer = undefined;
    // An issuance still running is shared by whoever comes next; its outcome decides.
    if (idleTtlMs === 0 && !entry.issuing) {
      drop(entry, 'no callers');
      return;
    }
    for (const spiffeId of idle.add(entry.identity.spiffeId)) {
      const oldest = entries.get(spiffeId);
      if (oldest) drop(oldest, 'too many idle identities');
    }
  }

  /** Drops idle identities whose grace has passed, longest idle first. */
  function sweep(): void {
    for (const spiffeId of idle.pastGrace()) {
      const entry = entries.get(spiffeId);
      // One still on its first issuance is dropped (at TTL 0) or kept idle when that settles.
      if (entry?.issuing) continue;
      if (entry) drop(entry, 'idle');
      else idle.delete(spiffeId);
    }
  }

  /** A caller takes an idle identity again: re-issue it first when due or issued by a replaced issuer. */
  function reacquire(entry: Entry): void {
    idle.delete(entry.identity.spiffeId);
    if (entry.issuing || !entry.svid) return;
    const now = clock.now();
    armExpiry(entry, entry.svid);
    if (now >= entry.dueAt || entry.generation !== issuerGeneration) entry.ready = rotate(entry);
    else schedule(entry, entry.dueAt - now);
  }

  function lease(entry: Entry, attestation: Attestation): SvidLease {
    entry.holders.push(attestation);
    const mine = new Set<(svid: IssuedSvid) => void>();
    const myEnds = new Set<(reason: unknown) => void>();
    let released = false;
    const add = <T>(set: Set<T>, own: Set<T>, listener: T) => {
      set.add(listener);
      own.add(listener);
      return () => {
        set.delete(listener);
        own.delete(listener);
      };
    };
    return {
      current: () => entry.svid as IssuedSvid,
      subscribe: (listener) => add(entry.listeners, mine, listener),
      onEnd: (listener) => add(entry.endListeners, myEnds, listener),
      release() {
        if (released) return;
        released = true;
        for (const listener of mine) entry.listeners.delete(listener);
        for (const listener of myEnds) entry.endListeners.delete(listener);
        entry.holders.splice(entry.holders.lastIndexOf(attestation), 1);
        if (entry.holders.length === 0 && held(entry)) becameIdle(entry);
        sweep();
      },
    };
  }

  /** A new entry whose first issuance starts now. */
  function create(identity: WorkloadIdentity, attestation: Attestation): Entry {
    const created: Entry = {
      identity,
      svid: undefined,
      ready: Promise.resolve(),
      issuing: true,
      generation: issuerGeneration,
      holders: [],
      timer: undefined,
      dueAt: Number.POSITIVE_INFINITY,
      expiryTimer: undefined,
      failures: 0,
      lastError: undefined,
      rotation: undefined,
      listeners: new Set(),
      endListeners: new Set(),
    };
    created.ready = issueWithFreshKey(issuer, identity, attestation).then(
      (svid) => {
        created.issuing = false;
        log.info(logFields(svid), 'issued svid');
        options.onIssued?.(svid, false);
        install(created, svid, created.generation);
        // Every caller may have gone away while it was issued; at idle TTL 0 it goes now.
        if (created.holders.length === 0 && idleTtlMs === 0 && held(created)) drop(created, 'no callers');
      },
      (err: unknown) => {
        // A failed first issuance must not poison later callers: forget the entry.
        created.issuing = false;
        if (held(created)) drop(created, 'first issuance failed');
        throw err;
      },
    );
    created.ready.catch(() => undefined);
    entries.set(identity.spiffeId, created);
    return created;
  }

  return {
    async acquire({ identity, attestation }, { signal } = {}) {
      sweep();
      let found = entries.get(identity.spiffeId);
      // Its expiry timer may not have run yet (and an idle one has none): an expired SVID is never
      // handed out. A rotation in flight is waited for; after it the SVID is either new or ended.
      while (found?.svid && found.svid.notAfter <= clock.now()) {
        if (found.rotation) await stopWaitingOnAbort(found.rotation, signal);
        else if (found.holders.length === 0) drop(found, 'expired while idle');
        else expire(found, found.svid);
        found = entries.get(identity.spiffeId);
      }
      const entry = found ?? create(identity, attestation);
      const wasIdle = found !== undefined && found.holders.length === 0;
      const hold = lease(entry, attestation);
      // After the lease: a re-issue asks with the newest holder's attestation, this caller's.
      if (wasIdle) reacquire(entry);
      try {
        await stopWaitingOnAbort(entry.ready, signal);
      } catch (err) {
        hold.release();
        throw err;
      }
      return hold;
    },
    reissueAll(spreadMs) {
      issuerGeneration++;
      for (const entry of [...entries.values()]) if (entry.holders.length === 0 && !entry.issuing) drop(entry, 'issuer changed');
      const now = clock.now();
      for (const entry of entries.values()) {
        if (!entry.svid) continue;
        const delay = Math.floor(spreadMs * clampUnit(random()));
        if (now + delay < entry.dueAt) schedule(entry, delay);
      }
    },
    size() {
      sweep();
      return entries.size;
    },
    close() {
      closed = true;
      for (const entry of entries.values()) {
        timers.clearTimeout(entry.timer);
        timers.clearTimeout(entry.expiryTimer);
      }
    },
  };
}
