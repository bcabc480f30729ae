/**
 * One X.509-SVID per identity, shared by every caller of that identity (SPEC §2, issue 2).
 *
 * The first caller of an identity triggers issuance: the store generates the key and asks its
 * issuing port ({@link X509SvidIssuer}) for an SVID for that identity and key; later callers share
 * the result, concurrent first callers included (one issuance, one promise). Each identity rotates
 * at 70 % of its remaining lifetime, clamped to [min, max] (`refreshIn`), with a fresh key, and
 * every subscriber is told.
 *
 * When the last caller of an identity leaves, the identity stays **idle** for `idleTtlMs`
 * (`--svid-idle-ttl`, issue 13), so a client that reconnects, a CLI run or a storm of open/cancel
 * calls reuses its issuance instead of signing again; callers are still attested afresh, only the
 * issuance is reused. Idle identities run no timer: their rotation timer is stopped, they are
 * dropped when found expired (on their next acquire, or by the sweep every acquire, release and
 * size() call makes of the longest idle ones), and at most {@link MAX_IDLE_IDENTITIES} are kept
 * (the longest idle goes first). One that is acquired again past its refresh point, or issued
 * under an issuer since replaced, is re-issued before it is handed out; an issuer swap drops
 * every idle identity. `idleTtlMs` 0 drops an identity as soon as its last caller leaves (once
 * its first issuance, if still running, has settled).
 */
import { stopWaitingOnAbort } from '../abort.js';
import type { Attestation } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { WorkloadIdentity } from '../identity.js';
import { generateWorkloadKey, type RefreshPolicy, refreshIn, type WorkloadKey } from '../issuer/index.js';
import { F, type Logger } from '../log.js';
import type { X509SvidIssuer, X509SvidRequest } from './x509-svid-issuer.js';

/** An issued SVID. Immutable: rotation replaces the object. */
export interface IssuedSvid {
  readonly spiffeId: string;
  /** DER leaf then intermediates, concatenated (the `x509_svid` encoding). */
  readonly chainDer: Buffer;
  /** Its key; `key.pkcs8` is the `x509_svid_key` encoding. */
  readonly key: WorkloadKey;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serialHex: string;
  /** What the issuer returned for the next rotation, if anything. Never log it. */
  readonly renewalTicket?: string;
}

/** Who holds an identity: the caller's identity and what its attestation proved. */
export interface IdentityHolder {
  readonly identity: WorkloadIdentity;
  readonly attestation: Attestation;
}

/** A caller's hold on an identity's SVID. */
export interface SvidLease {
  current(): IssuedSvid;
  /** Called after every rotation; returns the function that stops it. */
  subscribe(listener: (svid: IssuedSvid) => void): () => void;
  /** Gives the lease back; the last one drops the identity. Idempotent. */
  release(): void;
}

/** Timer functions, injectable so tests control rotation. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

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
   * After an issuer change: drops the idle identities and re-issues every held one, spread over
   * `spreadMs`.
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
  /** The attestations of the callers holding a lease, oldest first. */
  readonly holders: Attestation[];
  timer: unknown;
  /** Clock time at which the SVID is due for rotation. */
  refreshAt: number;
  /** The issuer generation (bumped by `reissueAll`) the SVID was issued under. */
  generation: number;
  /** The rotation in flight, shared by whoever asks for one meanwhile. */
  rotation: Promise<void> | undefined;
  readonly listeners: Set<(svid: IssuedSvid) => void>;
}

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function createSvidStore(options: SvidStoreOptions): SvidStore {
  const { issuer, clock, refresh } = options;
  const timers = options.timers ?? nodeTimers;
  const log = options.logger.child({ [F.subsystem]: 'svid_store' });
  const idleTtlMs = options.idleTtlMs ?? 0;
  if (!(idleTtlMs >= 0)) throw new TypeError(`idleTtlMs must not be negative: ${options.idleTtlMs}`);
  const entries = new Map<string, Entry>();
  let closed = false;
  /** Bumped by every issuer change; an SVID issued under an older one is re-issued before reuse. */
  let issuerGeneration = 0;

  /** A fresh key, and an SVID for it from the issuing port. */
  async function issue(entry: Entry, attestation: Attestation): Promise<IssuedSvid> {
    const { identity } = entry;
    const key = generateWorkloadKey();
    const request: X509SvidRequest = entry.svid
      ? { identity, key, attestation, reason: 'rotation', previous: entry.svid }
      : { identity, key, attestation, reason: 'first-issuance' };
    const issued = await issuer.issueX509Svid(request);
    return {
      spiffeId: identity.spiffeId,
      chainDer: Buffer.concat([issued.leaf, ...issued.intermediates]),
      key,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      serialHex: issued.serialHex,
      ...(issued.renewalTicket !== undefined ? { renewalTicket: issued.renewalTicket } : {}),
    };
  }

  const logFields = (svid: IssuedSvid) => ({
    [F.spiffeId]: svid.spiffeId,
    [F.serial]: svid.serialHex,
    [F.notAfter]: new Date(svid.notAfter).toISOString(),
  });

  /** Records when `entry` is due next and, while someone holds it, arms its one timer. */
  function schedule(entry: Entry, delayMs: number): void {
    timers.clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.refreshAt = clock.now() + delayMs;
    if (closed || entry.holders.length === 0) return;
    entry.timer = timers.setTimeout(() => void rotate(entry), delayMs);
  }

  const live = (entry: Entry) => entries.get(entry.identity.spiffeId) === entry;

  /** Replaces the SVID; resolves once the new one is out or the attempt failed (then retried). */
  function rotate(entry: Entry): Promise<void> {
    entry.rotation ??= rotateNow(entry).finally(() => {
      entry.rotation = undefined;
    });
    return entry.rotation;
  }

  async function rotateNow(entry: Entry): Promise<void> {
    const newest = entry.holders.at(-1);
    if (!live(entry) || newest === undefined) return;
    const generation = issuerGeneration;
    try {
      const svid = await issue(entry, newest);
      if (!live(entry)) return;
      entry.svid = svid;
      entry.generation = generation;
      log.info(logFields(svid), 'rotated svid');
      options.onIssued?.(svid, true);
      for (const listener of [...entry.listeners]) listener(svid);
      schedule(entry, refreshIn(clock.now(), svid.notAfter, refresh));
    } catch (err) {
      // Keep serving the current SVID and try again; refreshIn never returns less than min.
      const retryMs = entry.svid ? refreshIn(clock.now(), entry.svid.notAfter, refresh) : refresh.minRefreshMs;
      log.warn({ [F.spiffeId]: entry.identity.spiffeId, [F.error]: describeError(err), retry_ms: retryMs }, 'svid rotation failed');
      schedule(entry, retryMs);
    }
  }

  function drop(entry: Entry, why: string): void {
    timers.clearTimeout(entry.timer);
    entry.listeners.clear();
    idle.delete(entry.identity.spiffeId);
    if (live(entry)) entries.delete(entry.identity.spiffeId);
    log.debug({ [F.spiffeId]: entry.identity.spiffeId, [F.reason]: why }, 'dropped identity');
  }

  // === idle identities ===

  /** Idle identities by SPIFFE ID → the clock time they became idle; the longest idle first. */
  const idle = new Map<string, number>();

  /** The last caller left: keep the identity for reuse, or drop it. */
  function becameIdle(entry: Entry): void {
    timers.clearTimeout(entry.timer);
    entry.timer = undefined;
    // An issuance still running is shared by whoever comes next; its outcome decides.
    if (idleTtlMs === 0 && !entry.issuing) {
      drop(entry, 'no callers');
      return;
    }
    idle.set(entry.identity.spiffeId, clock.now());
    for (const spiffeId of idle.keys()) {
      if (idle.size <= MAX_IDLE_IDENTITIES) break;
      const oldest = entries.get(spiffeId);
      if (oldest) drop(oldest, 'too many idle identities');
      else idle.delete(spiffeId);
    }
  }

  /** Drops idle identities whose grace has passed, longest idle first; stops at the first still in grace. */
  function sweep(): void {
    const now = clock.now();
    for (const [spiffeId, since] of idle) {
      if (now - since < idleTtlMs) break;
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
    if (entry.issuing) return;
    const due = clock.now() >= entry.refreshAt || entry.generation !== issuerGeneration;
    if (due) entry.ready = rotate(entry);
    else schedule(entry, entry.refreshAt - clock.now());
  }

  function lease(entry: Entry, attestation: Attestation): SvidLease {
    entry.holders.push(attestation);
    const mine = new Set<(svid: IssuedSvid) => void>();
    let released = false;
    return {
      current: () => entry.svid as IssuedSvid,
      subscribe(listener) {
        entry.listeners.add(listener);
        mine.add(listener);
        return () => {
          entry.listeners.delete(listener);
          mine.delete(listener);
        };
      },
      release() {
        if (released) return;
        released = true;
        for (const listener of mine) entry.listeners.delete(listener);
        entry.holders.splice(entry.holders.lastIndexOf(attestation), 1);
        if (entry.holders.length === 0 && live(entry)) becameIdle(entry);
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
      holders: [],
      timer: undefined,
      refreshAt: 0,
      generation: issuerGeneration,
      rotation: undefined,
      listeners: new Set(),
    };
    created.ready = issue(created, attestation).then(
      (svid) => {
        created.svid = svid;
        created.issuing = false;
        log.info(logFields(svid), 'issued svid');
        options.onIssued?.(svid, false);
        // Issued by an issuer replaced meanwhile: re-issue at once (when held; idle, on reacquire).
        const stale = created.generation !== issuerGeneration;
        schedule(created, stale ? 0 : refreshIn(clock.now(), svid.notAfter, refresh));
        // Every caller may have gone away while it was issued; at idle TTL 0 it goes now.
        if (created.holders.length === 0 && idleTtlMs === 0) drop(created, 'no callers');
      },
      (err: unknown) => {
        // A failed first issuance must not poison later callers: forget the entry.
        created.issuing = false;
        if (live(created)) drop(created, 'first issuance failed');
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
      const found = entries.get(identity.spiffeId);
      const entry = found ?? create(identity, attestation);
      const wasIdle = found !== undefined && found.holders.length === 0;
      const held = lease(entry, attestation);
      // After the lease: a re-issue asks with the newest holder's attestation, this caller's.
      if (wasIdle) reacquire(entry);
      try {
        await stopWaitingOnAbort(entry.ready, signal);
      } catch (err) {
        held.release();
        throw err;
      }
      return held;
    },
    reissueAll(spreadMs) {
      issuerGeneration++;
      for (const entry of [...entries.values()]) if (entry.holders.length === 0 && !entry.issuing) drop(entry, 'issuer changed');
      const list = [...entries.values()].filter((e) => e.svid);
      list.forEach((entry, i) => {
        schedule(entry, list.length > 1 ? Math.floor((spreadMs * i) / (list.length - 1)) : 0);
      });
    },
    size() {
      sweep();
      return entries.size;
    },
    close() {
      closed = true;
      for (const entry of entries.values()) timers.clearTimeout(entry.timer);
    },
  };
}
