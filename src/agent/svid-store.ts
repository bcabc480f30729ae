/**
 * One X.509-SVID per identity, shared by every caller of that identity (SPEC §2, issue 2).
 *
 * The first caller of an identity triggers issuance: the store generates the key and asks its
 * issuing port ({@link X509SvidIssuer}) for an SVID for that identity and key; later callers share
 * the result. Each identity rotates at 70 % of its remaining lifetime, clamped to [min, max]
 * (`refreshIn`), with a fresh key, and every subscriber is told. When the last caller of an
 * identity leaves, the identity is dropped, key and all.
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

export interface SvidStoreOptions {
  /** The issuing port: the embedded issuer's signer, or a remote issuer. */
  readonly issuer: X509SvidIssuer;
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
  /** Re-issues every identity now (after an issuer change), spread over `spreadMs`. */
  reissueAll(spreadMs: number): void;
  /** Number of identities held. */
  size(): number;
  /** Stops every timer; leases stay readable. */
  close(): void;
}

interface Entry {
  readonly identity: WorkloadIdentity;
  svid: IssuedSvid | undefined;
  ready: Promise<void>;
  /** The attestations of the callers holding a lease, oldest first. */
  readonly holders: Attestation[];
  timer: unknown;
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
  const entries = new Map<string, Entry>();
  let closed = false;

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

  function schedule(entry: Entry, delayMs: number): void {
    if (closed) return;
    timers.clearTimeout(entry.timer);
    entry.timer = timers.setTimeout(() => void rotate(entry), delayMs);
  }

  async function rotate(entry: Entry): Promise<void> {
    const newest = entry.holders.at(-1);
    if (entries.get(entry.identity.spiffeId) !== entry || newest === undefined) return;
    try {
      const svid = await issue(entry, newest);
      if (entries.get(entry.identity.spiffeId) !== entry) return;
      entry.svid = svid;
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

  function drop(entry: Entry): void {
    timers.clearTimeout(entry.timer);
    entry.listeners.clear();
    if (entries.get(entry.identity.spiffeId) === entry) entries.delete(entry.identity.spiffeId);
    log.debug({ [F.spiffeId]: entry.identity.spiffeId }, 'dropped identity with no callers');
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
        if (entry.holders.length === 0) drop(entry);
      },
    };
  }

  return {
    async acquire({ identity, attestation }, { signal } = {}) {
      let entry = entries.get(identity.spiffeId);
      if (!entry) {
        const created: Entry = { identity, svid: undefined, ready: Promise.resolve(), holders: [], timer: undefined, listeners: new Set() };
        created.ready = issue(created, attestation).then((svid) => {
          created.svid = svid;
          log.info(logFields(svid), 'issued svid');
          options.onIssued?.(svid, false);
          // Every caller may have gone away while it was issued; then nothing is left to rotate.
          if (entries.get(identity.spiffeId) === created) schedule(created, refreshIn(clock.now(), svid.notAfter, refresh));
        });
        // A failed first issuance must not poison later callers: forget the entry.
        created.ready.catch(() => {
          if (entries.get(identity.spiffeId) === created) entries.delete(identity.spiffeId);
        });
        entries.set(identity.spiffeId, created);
        entry = created;
      }
      const held = lease(entry, attestation);
      try {
        await stopWaitingOnAbort(entry.ready, signal);
      } catch (err) {
        held.release();
        throw err;
      }
      return held;
    },
    reissueAll(spreadMs) {
      const list = [...entries.values()].filter((e) => e.svid);
      list.forEach((entry, i) => {
        schedule(entry, list.length > 1 ? Math.floor((spreadMs * i) / (list.length - 1)) : 0);
      });
    },
    size: () => entries.size,
    close() {
      closed = true;
      for (const entry of entries.values()) timers.clearTimeout(entry.timer);
    },
  };
}
