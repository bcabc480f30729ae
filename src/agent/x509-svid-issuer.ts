/**
 * The issuing port of the SVID store: where an X.509-SVID comes from for an identity and the key
 * the store generated for it. The embedded issuer (`createX509SvidSigner` of the issuer) signs
 * the public key directly and ignores the rest; a remote issuer builds a CSR from the private key
 * and sends, with it, the evidence of the attestation on a first issuance, and what the previous
 * issuance returned (a renewal ticket) on a rotation. CSRs exist only where they cross the network.
 */
import type { Attestation } from '../attestor/index.js';
import type { WorkloadIdentity } from '../identity.js';
import { generateWorkloadKey, type WorkloadKey } from '../issuer/index.js';
import type { IssuedSvid } from './svid-lease.js';

/** An SVID the store holds, as far as an issuer needs to know it for a rotation. */
export interface PreviousX509Svid {
  /** Its DER leaf: what a remote issuer renews. */
  readonly leaf: Buffer;
  /** Its key: proves possession to a remote issuer. */
  readonly key: WorkloadKey;
  readonly notAfter: number;
  /** What the issuer returned with it for its renewal, if anything. */
  readonly renewalTicket?: string;
}

/** One request to the port. */
export type X509SvidRequest = {
  readonly identity: WorkloadIdentity;
  /** Freshly generated for this SVID; the SVID certifies its public half. */
  readonly key: WorkloadKey;
  /**
   * What the attestor proved about a caller holding the identity: on a first issuance the caller
   * that asked, on a rotation the newest caller still connected. Holds the workload's token when
   * the attestor used one (never log it).
   */
  readonly attestation: Attestation;
} & (
  | { readonly reason: 'first-issuance' }
  | {
      readonly reason: 'rotation';
      readonly previous: PreviousX509Svid;
      /**
       * Every caller holding the identity, newest first (`attestation` is the first): a port that
       * needs fresh evidence from a live caller tries them in turn.
       */
      readonly holders: readonly Attestation[];
    }
);

/** What the port returns: the certificates, and what the store keeps for the next rotation. */
export interface X509SvidIssuance {
  /** DER leaf. */
  readonly leaf: Buffer;
  /** DER intermediates after the leaf, in order. */
  readonly intermediates: readonly Buffer[];
  /** Leaf validity, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly serialHex: string;
  /** Opaque to the store, handed back in `previous` on the next rotation. Never log it. */
  readonly renewalTicket?: string;
}

/** Issues X.509-SVIDs for the SVID store. */
export interface X509SvidIssuer {
  /**
   * @throws AgentError: `ISSUER_NOT_READY`, `SIGNING_FAILED` (embedded), or whatever a remote
   *   issuer's failure maps to; the store keeps serving the current SVID and retries
   */
  issueX509Svid(request: X509SvidRequest, options?: { readonly signal?: AbortSignal }): Promise<X509SvidIssuance>;
}

/**
 * A fresh workload key, and an X.509-SVID for it from `issuer`, as the SVID store keeps it: a
 * first issuance for the caller that asked (`attestation`), or, with `previous`, a rotation for
 * the newest holder, the other holders following newest first.
 */
export async function issueWithFreshKey(
  issuer: X509SvidIssuer,
  identity: WorkloadIdentity,
  attestation: Attestation,
  previous?: { readonly svid: IssuedSvid; readonly holders: readonly Attestation[] },
): Promise<IssuedSvid> {
  const key = generateWorkloadKey();
  const request: X509SvidRequest = previous
    ? { identity, key, attestation, reason: 'rotation', previous: previous.svid, holders: [...previous.holders].reverse() }
    : { identity, key, attestation, reason: 'first-issuance' };
  const issued = await issuer.issueX509Svid(request);
  return {
    spiffeId: identity.spiffeId,
    chainDer: Buffer.concat([issued.leaf, ...issued.intermediates]),
    leaf: issued.leaf,
    key,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    serialHex: issued.serialHex,
    ...(issued.renewalTicket !== undefined ? { renewalTicket: issued.renewalTicket } : {}),
  };
}
