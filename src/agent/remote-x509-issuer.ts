/**
 * The SVID store's issuing port when the central issuer signs (docs/central-issuer.md): the only
 * place the agent makes CSRs. A first issuance sends the CSR with the caller's evidence (its
 * token and pod UID, just attested). A rotation sends fresh evidence read again from a live
 * caller of the identity, newest first, with the renewal proof: the ticket and certificate of the
 * SVID being replaced and the current key's signature over the ticket and the new CSR — so that
 * the issuer can renew on the ticket alone while its TokenReview cannot reach the API server.
 */
import { status } from '@grpc/grpc-js';
import type { Attestation, FreshTokenReader } from '../attestor/index.js';
import { AgentError } from '../errors.js';
import { createCsr, readCertificateInfo, signRenewalProof } from '../issuer/index.js';
import type { NodeIssuerClient, SignX509SvidCall, WorkloadEvidence } from './node-client.js';
import { NodeServiceError } from './node-service-error.js';
import type { PreviousX509Svid, X509SvidIssuance, X509SvidIssuer, X509SvidRequest } from './x509-svid-issuer.js';

/** Options of {@link createRemoteX509Issuer}. */
export interface RemoteX509IssuerOptions {
  readonly client: Pick<NodeIssuerClient, 'signX509Svid'>;
  /** Reads a caller's token again for a rotation (the attestor's `createFreshTokenReader`). */
  readonly freshToken: FreshTokenReader;
}

/** The evidence of an attestation that carries a token and a pod, if it does. */
export function evidenceOf(attestation: Attestation, token = attestation.token): WorkloadEvidence | undefined {
  return token !== undefined && attestation.podUid !== undefined ? { token, podUid: attestation.podUid } : undefined;
}

/** Fresh evidence from the first holder whose process still has a token. */
async function freshEvidence(holders: readonly Attestation[], freshToken: FreshTokenReader): Promise<WorkloadEvidence | undefined> {
  for (const holder of holders) {
    const token = await freshToken(holder);
    const evidence = token === undefined ? undefined : evidenceOf(holder, token);
    if (evidence) return evidence;
  }
  return undefined;
}

/** The renewal proof for `previous`, if the issuer gave it a ticket. */
function renewalProof(previous: PreviousX509Svid, csr: Buffer): SignX509SvidCall['renewal'] {
  if (previous.renewalTicket === undefined) return undefined;
  const ticket = Buffer.from(previous.renewalTicket, 'base64');
  return { ticket, certificate: previous.leaf, signature: signRenewalProof(previous.key.privateKey, ticket, csr) };
}

/** The issuer's answer broke the contract: the workload sees UNAVAILABLE, the log says why. */
function badReply(details: string): NodeServiceError {
  return new NodeServiceError('SignX509SVID', status.INTERNAL, details);
}

export function createRemoteX509Issuer(options: RemoteX509IssuerOptions): X509SvidIssuer {
  return {
    async issueX509Svid(request: X509SvidRequest): Promise<X509SvidIssuance> {
      const { identity, key } = request;
      const csr = createCsr({ privateKey: key.privateKey });
      let call: SignX509SvidCall;
      if (request.reason === 'first-issuance') {
        const workload = evidenceOf(request.attestation);
        if (!workload) throw new AgentError('NO_IDENTITY', 'the caller was attested without a token and a pod to send as evidence');
        call = { csr, workload };
      } else {
        const workload = await freshEvidence(request.holders, options.freshToken);
        const renewal = renewalProof(request.previous, csr);
        call = { csr, ...(workload ? { workload } : {}), ...(renewal ? { renewal } : {}) };
      }
      const reply = await options.client.signX509Svid(call);
      if (reply.spiffeId !== identity.spiffeId) throw badReply(`issuer signed ${reply.spiffeId}, not ${identity.spiffeId}`);
      const leaf = readCertificateInfo(reply.leaf);
      if (!leaf.spkiDer.equals(key.publicKeySpki)) throw badReply('issuer signed another key than the one sent');
      return {
        leaf: reply.leaf,
        intermediates: reply.intermediates,
        notBefore: leaf.notBefore,
        notAfter: leaf.notAfter,
        serialHex: leaf.serial,
        ...(reply.ticket.length > 0 ? { renewalTicket: reply.ticket.toString('base64') } : {}),
      };
    },
  };
}
