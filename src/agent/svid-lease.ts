/**
 * What a caller of the SVID store holds: the issued SVID and its lease on it (the store itself is
 * `svid-store.ts`).
 */
import type { Attestation } from '../attestor/index.js';
import type { WorkloadIdentity } from '../identity.js';
import type { WorkloadKey } from '../issuer/index.js';

/** An issued SVID. Immutable: rotation replaces the object. */
export interface IssuedSvid {
  readonly spiffeId: string;
  /** DER leaf then intermediates, concatenated (the `x509_svid` encoding). */
  readonly chainDer: Buffer;
  /** The DER leaf alone (the start of `chainDer`). */
  readonly leaf: Buffer;
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
  /**
   * Called once if the SVID expires before a successor could be issued, with the last issuance
   * failure: the identity is gone, and the caller must not serve the expired SVID.
   */
  onEnd(listener: (reason: unknown) => void): () => void;
  /** Gives the lease back; the last one leaves the identity idle (or drops it). Idempotent. */
  release(): void;
}
