/**
 * One X.509-SVID per identity, shared by every caller of that identity (SPEC §2, issue 2).
 *
 * The first caller of an identity triggers issuance (the agent makes the key and CSR and calls
 * Certify); later callers share the result. Each identity rotates at 70 % of its remaining
 * lifetime, clamped to [min, max] (`refreshIn`), and every subscriber is told. When the last
 * caller of an identity leaves, the identity is dropped, key and all.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { WorkloadIdentity } from '../identity.js';
import { type Certifier, createCsr, pkcs8Of, type RefreshPolicy, refreshIn } from '../issuer/index.js';
import type { Logger } from '../log.js';
import type { AttestedGrants } from './attested-grants.js';

/** An issued SVID. Immutable: rotation replaces the object. */
export interface IssuedSvid {
  readonly spiffeId: string;
  /** DER leaf then intermediates, concatenated (the `x509_svid` encoding). */
  readonly chainDer: Buffer;
  /** Unencrypted PKCS#8 DER (the `x509_svid_key` encoding). */
  readonly keyPkcs8: Buffer;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serialHex: string;
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
  readonly certifier: Certifier;
  readonly grants: AttestedGrants;
  readonly refresh: RefreshPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly timers?: Timers;
  /** Called after every successful issuance (metrics). */
  readonly onIssued?: (svid: IssuedSvid, rotation: boolean) => void;
}

export interface SvidStore {
  /**
   * Returns a lease on the identity's SVID, issuing it first when needed.
   * Rejects with the Certify error when the first issuance fails.
   */
  acquire(identity: WorkloadIdentity): Promise<SvidLease>;
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
  leases: number;
  timer: unknown;
  readonly listeners: Set<(svid: IssuedSvid) => void>;
}

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function createSvidStore(options: SvidStoreOptions): SvidStore {
  const { certifier, grants, clock, refresh } = options;
  const timers = options.timers ?? nodeTimers;
  const log = options.logger.child({ subsystem: 'svid_store' });
  const entries = new Map<string, Entry>();
  let closed = false;

  async function issue(identity: WorkloadIdentity): Promise<IssuedSvid> {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const csr = createCsr({ privateKey, uris: [identity.spiffeId] });
    const token = grants.grant(identity.account);
    try {
      const result = await certifier.certify({ identity: identity.spiffeId, token, csr });
      return {
        spiffeId: identity.spiffeId,
        chainDer: Buffer.concat([result.leaf, ...result.intermediates]),
        keyPkcs8: pkcs8Of(privateKey, 'prime256v1'),
        notBefore: result.notBefore,
        notAfter: result.validUntil,
        serialHex: result.serialHex,
      };
    } finally {
      grants.revoke(token);
    }
  }

  function schedule(entry: Entry, delayMs: number): void {
    if (closed) return;
    timers.clearTimeout(entry.timer);
    entry.timer = timers.setTimeout(() => void rotate(entry), delayMs);
  }

  async function rotate(entry: Entry): Promise<void> {
    if (entries.get(entry.identity.spiffeId) !== entry) return;
    try {
      const svid = await issue(entry.identity);
      if (entries.get(entry.identity.spiffeId) !== entry) return;
      entry.svid = svid;
      log.info({ spiffe_id: svid.spiffeId, serial: svid.serialHex, not_after: new Date(svid.notAfter).toISOString() }, 'rotated svid');
      options.onIssued?.(svid, true);
      for (const listener of [...entry.listeners]) listener(svid);
      schedule(entry, refreshIn(clock.now(), svid.notAfter, refresh));
    } catch (err) {
      // Keep serving the current SVID and try again; refreshIn never returns less than min.
      const retryMs = entry.svid ? refreshIn(clock.now(), entry.svid.notAfter, refresh) : refresh.minRefreshMs;
      log.warn({ spiffe_id: entry.identity.spiffeId, error: describeError(err), retry_ms: retryMs }, 'svid rotation failed');
      schedule(entry, retryMs);
    }
  }

  function drop(entry: Entry): void {
    timers.clearTimeout(entry.timer);
    entry.listeners.clear();
    if (entries.get(entry.identity.spiffeId) === entry) entries.delete(entry.identity.spiffeId);
    log.debug({ spiffe_id: entry.identity.spiffeId }, 'dropped identity with no callers');
  }

  function lease(entry: Entry): SvidLease {
    entry.leases++;
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
        if (--entry.leases === 0) drop(entry);
      },
    };
  }

  return {
    async acquire(identity) {
      let entry = entries.get(identity.spiffeId);
      if (!entry) {
        const created: Entry = { identity, svid: undefined, ready: Promise.resolve(), leases: 0, timer: undefined, listeners: new Set() };
        created.ready = issue(identity).then((svid) => {
          created.svid = svid;
          log.info({ spiffe_id: svid.spiffeId, serial: svid.serialHex, not_after: new Date(svid.notAfter).toISOString() }, 'issued svid');
          options.onIssued?.(svid, false);
          schedule(created, refreshIn(clock.now(), svid.notAfter, refresh));
        });
        // A failed first issuance must not poison later callers: forget the entry.
        created.ready.catch(() => {
          if (entries.get(identity.spiffeId) === created) entries.delete(identity.spiffeId);
        });
        entries.set(identity.spiffeId, created);
        entry = created;
      }
      const held = lease(entry);
      try {
        await entry.ready;
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
