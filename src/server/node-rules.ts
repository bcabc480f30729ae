/**
 * Who may get what from the node service (docs/central-issuer.md), as pure functions over what
 * the TokenReviews and the ticket said. Each throws a {@link NodeServiceError} naming the first
 * rule that fails.
 */
import { AgentError } from '../errors.js';
import { SERVICE_ACCOUNT_TYPE, type WorkloadIdentity } from '../identity.js';
import type { RenewalTicket, TicketProblem, VerifiedTicket } from '../issuer/index.js';
import type { ValidatedToken } from '../token-validator.js';
import { NODE_REASONS, NodeServiceError, notPermitted } from './node-errors.js';

/** `--agent-service-account`: the only account that may act as an agent. */
export interface AgentAccount {
  readonly namespace: string;
  readonly name: string;
}

const NO_NODE_CLAIM =
  'the api server puts no node name in service-account tokens (Kubernetes 1.30 or later with ServiceAccountTokenPodNodeInfo is needed for the central issuer)';

/**
 * The bearer token of an `authorization` metadata value list: exactly one `Bearer <token>`.
 * @throws NodeServiceError `AGENT_NOT_AUTHENTICATED` when there is none or it is malformed
 */
export function bearerToken(values: readonly unknown[]): string {
  const [value, ...more] = values;
  const match = typeof value === 'string' && more.length === 0 ? /^Bearer +(\S+)$/i.exec(value) : null;
  if (!match) {
    throw new NodeServiceError(
      'AGENT_NOT_AUTHENTICATED',
      NODE_REASONS.noAgentToken,
      "missing agent token: send the agent's own projected token as 'authorization: Bearer <token>'",
    );
  }
  return match[1] as string;
}

/**
 * The node an agent's reviewed token speaks for: the token must be the agent account's, bound to
 * a pod and a node.
 * @throws NodeServiceError `NOT_PERMITTED` (wrong account; no pod or node in the token)
 */
export function agentNodeOf(token: ValidatedToken, account: AgentAccount): string {
  const { type, namespace, name } = token.account;
  if (type !== SERVICE_ACCOUNT_TYPE || namespace !== account.namespace || name !== account.name) {
    throw notPermitted(
      NODE_REASONS.agentWrongAccount,
      `the agent token belongs to ${type} ${namespace}/${name}, not to the agent service account ${account.namespace}/${account.name}`,
    );
  }
  if (token.podUid === undefined) throw notPermitted(NODE_REASONS.agentTokenNotBound, 'the agent token is not bound to a pod');
  if (token.nodeName === undefined) throw notPermitted(NODE_REASONS.agentTokenNotBound, `the agent token names no node: ${NO_NODE_CLAIM}`);
  return token.nodeName;
}

/**
 * A workload token counts for the agent of `agentNode` only when it is a service account's,
 * bound to the pod the agent saw the caller in, and that pod is on the agent's node.
 * @throws NodeServiceError `NOT_PERMITTED` naming the first rule that fails
 */
export function checkWorkloadBinding(token: ValidatedToken, podUid: string, agentNode: string): void {
  if (token.account.type !== SERVICE_ACCOUNT_TYPE) {
    throw notPermitted(NODE_REASONS.workloadNotServiceAccount, 'the workload token is not a service-account token');
  }
  if (token.podUid === undefined) throw notPermitted(NODE_REASONS.workloadNotBoundToPod, 'the workload token is not bound to a pod');
  if (token.podUid.toLowerCase() !== podUid.toLowerCase()) {
    throw notPermitted(NODE_REASONS.workloadOtherPod, 'the workload token is bound to another pod than the one the agent named');
  }
  if (token.nodeName === undefined) {
    throw notPermitted(NODE_REASONS.workloadNotBoundToNode, `the workload token names no node: ${NO_NODE_CLAIM}`);
  }
  if (token.nodeName !== agentNode) {
    throw notPermitted(NODE_REASONS.workloadOtherNode, "the workload token is bound to another node than the agent's");
  }
}

/** The names the issuer serves under: never signed for anyone else. */
export interface OwnNames {
  /** `--server-name`. */
  readonly dnsName: string;
  /** The SPIFFE ID of the account the server name is the DNS form of, if any. */
  readonly spiffeId: string | undefined;
}

/** @throws NodeServiceError `NOT_PERMITTED` when `identity` is the issuer's own, in either form */
export function checkNotOwnName(identity: WorkloadIdentity, own: OwnNames): void {
  if (identity.dnsName === own.dnsName || identity.spiffeId === own.spiffeId) {
    throw notPermitted(NODE_REASONS.ownName, 'the issuer does not sign its own server name for anyone else');
  }
}

/** What the renewal certificate and proof showed (the crypto is done by the caller). */
export interface PresentedSvid {
  /** SHA-256 of the presented certificate's SubjectPublicKeyInfo. */
  readonly keyFingerprint: Buffer;
  /** Its URI SANs. */
  readonly spiffeIds: readonly string[];
  /** Signed by the issuer in use, or by the previous one while its ticket key is still accepted. */
  readonly signedByKnownIssuer: boolean;
  /** The proof verifies under the certificate's key over the ticket and the new CSR. */
  readonly proofValid: boolean;
}

function ticketProblem(problem: TicketProblem): NodeServiceError {
  return problem === 'malformed'
    ? notPermitted(NODE_REASONS.ticketMalformed, 'the renewal ticket is malformed')
    : notPermitted(NODE_REASONS.ticketUnknownKey, 'the renewal ticket was not issued by this issuer (or by one it no longer accepts)');
}

/**
 * A renewal on ticket and proof alone, while the API server is unreachable: the ticket verifies
 * and has not expired, names the agent's node (when the agent could be authenticated), and the
 * presented certificate is the ticket's, from a known issuer, with a valid proof by its key.
 * @returns the ticket, whose identity and bounds the new SVID keeps
 * @throws NodeServiceError `NOT_PERMITTED` naming the first rule that fails
 */
export function checkTicketRenewal(
  verified: VerifiedTicket | TicketProblem,
  context: { readonly now: number; readonly agentNode: string | undefined; readonly presented: PresentedSvid },
): RenewalTicket {
  if (typeof verified === 'string') throw ticketProblem(verified);
  const { ticket } = verified;
  const { presented } = context;
  if (context.now >= ticket.expiresAtMs) {
    throw notPermitted(
      NODE_REASONS.ticketExpired,
      `the renewal ticket expired at ${new Date(ticket.expiresAtMs).toISOString()}: a fresh workload token is needed`,
    );
  }
  if (context.agentNode !== undefined && ticket.node !== context.agentNode) {
    throw notPermitted(NODE_REASONS.ticketOtherNode, "the renewal ticket was issued to another node's agent");
  }
  if (
    !presented.keyFingerprint.equals(ticket.keyFingerprint) ||
    !presented.signedByKnownIssuer ||
    presented.spiffeIds.length !== 1 ||
    presented.spiffeIds[0] !== ticket.spiffeId
  ) {
    throw notPermitted(NODE_REASONS.certificateMismatch, 'the renewal certificate is not the one the ticket was issued with');
  }
  if (!presented.proofValid) {
    throw notPermitted(NODE_REASONS.proofInvalid, 'the renewal proof does not verify under the key of the renewal certificate');
  }
  return ticket;
}

/**
 * A renewal with fresh evidence, while the API server answers: a ticket that verifies must be
 * this node's and this identity's (another node's ticket is refused); one that does not verify
 * (an issuer no longer known) is ignored, as the evidence alone suffices.
 * @throws NodeServiceError `NOT_PERMITTED`
 */
export function checkTicketMatchesEvidence(verified: VerifiedTicket | TicketProblem, agentNode: string, identity: WorkloadIdentity): void {
  if (typeof verified === 'string') return;
  if (verified.ticket.node !== agentNode) {
    throw notPermitted(NODE_REASONS.ticketOtherNode, "the renewal ticket was issued to another node's agent");
  }
  if (verified.ticket.spiffeId !== identity.spiffeId) {
    throw notPermitted(NODE_REASONS.ticketOtherIdentity, 'the renewal ticket is for another identity than the workload token proves');
  }
}

/**
 * Whether a failed TokenReview means the API server is unreachable (network, timeout, 5xx, 429):
 * only then may a renewal go on with a ticket. A refusal of the issuer's own request (401/403) or
 * a nonsensical answer is not an outage.
 */
export function isApiUnreachable(err: unknown): boolean {
  if (!(err instanceof AgentError) || err.code !== 'TOKEN_REVIEW_FAILED' || !('httpStatus' in err)) return false;
  const httpStatus = (err as { httpStatus?: unknown }).httpStatus;
  return httpStatus === undefined || (typeof httpStatus === 'number' && (httpStatus >= 500 || httpStatus === 429));
}
