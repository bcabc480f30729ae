/**
 * `SignX509SVID`'s decision: a first issuance or a renewal with fresh evidence while the API
 * server answers; a renewal on ticket and proof of possession alone only while it does not
 * (docs/central-issuer.md, "Renewal tickets"). Every SVID comes with a ticket: attested now when
 * backed by a workload token, the same attested-at and expiry when renewed on a ticket.
 */
import { X509Certificate } from 'node:crypto';
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import { accountFromName, type NamingConfig, type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import {
  curveNamed,
  encodeTicket,
  keyFingerprint,
  type ParsedCsr,
  parseCsr,
  type RenewalKeys,
  type RenewalTicket,
  type SignedX509Svid,
  type TicketKey,
  verifyRenewalProof,
  verifyTicket,
  type X509SvidSigner,
} from '../issuer/index.js';
import type { NodeAuth, NodeCall, WorkloadEvidence } from './node-auth.js';
import { invalidRequest, NODE_REASONS, notPermitted } from './node-errors.js';
import {
  checkNotOwnName,
  checkTicketMatchesEvidence,
  checkTicketRenewal,
  isApiUnreachable,
  type OwnNames,
  type PresentedSvid,
} from './node-rules.js';

/** `RenewalProof` as the service reads it. */
export interface RenewalProof {
  readonly ticket: Buffer;
  readonly certificate: Buffer;
  readonly signature: Buffer;
}

/** `SignX509SVIDRequest` as the service reads it. */
export interface SignX509SvidRequest {
  readonly csr: Buffer;
  readonly workload: WorkloadEvidence | undefined;
  readonly renewal: RenewalProof | undefined;
}

/** A signed SVID, its ticket, and on what it was granted. */
export interface IssuedX509Svid extends SignedX509Svid {
  readonly identity: WorkloadIdentity;
  /** Opaque to the agent; never log it. */
  readonly ticket: Buffer;
  /** `token`: a workload token was reviewed now; `ticket`: renewed on ticket and proof alone. */
  readonly basis: 'token' | 'ticket';
}

/** Options of {@link createX509Issuance}. */
export interface X509IssuanceOptions {
  readonly auth: NodeAuth;
  readonly signer: X509SvidSigner;
  readonly renewalKeys: RenewalKeys;
  readonly naming: NamingConfig;
  readonly own: OwnNames;
  /** `--svid-ttl`, ms: how long a ticket backed by a workload token lasts. */
  readonly svidTtlMs: number;
  readonly clock: Clock;
}

/** Reads the CSR: well-formed, self-signed, an EC P-256 or P-384 key. Its names are ignored. */
function readCsr(bytes: Buffer): ParsedCsr {
  if (bytes.length === 0) throw invalidRequest('missing certificate signing request');
  const csr = parseCsr(bytes);
  if (!csr.verifySignature()) throw invalidRequest('certificate signing request signature does not verify');
  if (csr.publicKeyAlgorithm !== 'ec' || !curveNamed(csr.namedCurve)?.certificates) {
    throw invalidRequest('certificate signing request must hold an ecdsa p-256 or p-384 key');
  }
  return csr;
}

/** What the renewal certificate and proof show, against the issuers whose tickets are accepted. */
function presentedSvid(renewal: RenewalProof, csr: Buffer, issuers: readonly TicketKey[]): PresentedSvid {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(renewal.certificate);
  } catch (err) {
    throw notPermitted(NODE_REASONS.certificateMismatch, 'the renewal certificate does not parse', err);
  }
  const signedBy = (issuer: X509Certificate): boolean => {
    try {
      return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
    } catch {
      return false;
    }
  };
  return {
    keyFingerprint: keyFingerprint(certificate.publicKey.export({ type: 'spki', format: 'der' })),
    spiffeIds: (certificate.subjectAltName ?? '')
      .split(', ')
      .filter((name) => name.startsWith('URI:'))
      .map((name) => name.slice(4)),
    signedByKnownIssuer: issuers.some((k) => signedBy(k.issuer)),
    proofValid: verifyRenewalProof(certificate.publicKey, renewal.ticket, csr, renewal.signature),
  };
}

/** `SignX509SVID`'s decision for one issuer. */
export interface X509Issuance {
  /**
   * Checks, in order: the CSR (`INVALID_REQUEST`); the agent token (`AGENT_NOT_AUTHENTICATED`,
   * `NOT_PERMITTED`, `RATE_LIMITED`; unreachable API: ticket renewal or `TOKEN_REVIEW_FAILED`);
   * the workload evidence (`INVALID_REQUEST`, `NOT_PERMITTED`; unreachable API: ticket renewal
   * or `TOKEN_REVIEW_FAILED`); a ticket sent with evidence (`NOT_PERMITTED`); the issuer's own
   * name (`NOT_PERMITTED`); signing (`ISSUER_NOT_READY`, `SIGNING_FAILED`).
   */
  signX509Svid(call: NodeCall, request: SignX509SvidRequest): Promise<IssuedX509Svid>;
}

/** Creates the decision. */
export function createX509Issuance(options: X509IssuanceOptions): X509Issuance {
  const { auth, signer, renewalKeys, clock } = options;

  function sign(identity: WorkloadIdentity, csr: ParsedCsr, ticket: Omit<RenewalTicket, 'keyFingerprint'>, basis: 'token' | 'ticket') {
    checkNotOwnName(identity, options.own);
    const key = renewalKeys.signing();
    if (!key) throw new AgentError('ISSUER_NOT_READY', 'cert issuer not ready yet');
    const signed = signer.sign(identity, csr.publicKeySpki, basis === 'ticket' ? { notAfterAtMost: ticket.expiresAtMs } : undefined);
    const bytes = encodeTicket({ ...ticket, keyFingerprint: keyFingerprint(csr.publicKeySpki) }, key.key);
    return { ...signed, identity, ticket: bytes, basis };
  }

  /** Renewal on ticket and proof alone: the API server is unreachable. */
  function renewOnTicket(call: NodeCall, request: SignX509SvidRequest, csr: ParsedCsr, agentNode: string | undefined): IssuedX509Svid {
    const renewal = request.renewal as RenewalProof;
    const issuers = renewalKeys.verifying();
    const verified = verifyTicket(
      renewal.ticket,
      issuers.map((k) => k.key),
    );
    const ticket = checkTicketRenewal(verified, {
      now: clock.now(),
      agentNode,
      presented: presentedSvid(renewal, request.csr, issuers),
    });
    const account = accountFromName(ticket.spiffeId, options.naming);
    if (!account) throw notPermitted(NODE_REASONS.ticketOtherIdentity, 'the renewal ticket names an identity outside this trust domain');
    call.fields.node = ticket.node;
    call.fields.spiffe_id = ticket.spiffeId;
    return sign(workloadIdentityFor(account, options.naming), csr, ticket, 'ticket');
  }

  return {
    async signX509Svid(call: NodeCall, request: SignX509SvidRequest): Promise<IssuedX509Svid> {
      const renewing = request.renewal !== undefined;
      const csr = readCsr(request.csr);
      const { node } = await auth.agent(call, { allowUnreachable: renewing });
      if (node === undefined) return renewOnTicket(call, request, csr, undefined);
      if (renewing && request.workload === undefined) {
        throw notPermitted(NODE_REASONS.renewalNeedsToken, 'renewal needs a fresh workload token while the api server is reachable');
      }
      let reviewed: Awaited<ReturnType<NodeAuth['workload']>>;
      try {
        reviewed = await auth.workload(call, request.workload, node);
      } catch (err) {
        if (renewing && isApiUnreachable(err)) return renewOnTicket(call, request, csr, node);
        throw err;
      }
      if (request.renewal) {
        const verified = verifyTicket(
          request.renewal.ticket,
          renewalKeys.verifying().map((k) => k.key),
        );
        checkTicketMatchesEvidence(verified, node, reviewed.identity);
      }
      const now = clock.now();
      return sign(
        reviewed.identity,
        csr,
        { spiffeId: reviewed.identity.spiffeId, node, attestedAtMs: now, expiresAtMs: now + options.svidTtlMs },
        'token',
      );
    },
  };
}
