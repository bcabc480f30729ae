/**
 * Why the node service refused or could not serve a call: a coded {@link AgentError} plus a
 * `reason` from a closed list, the label of the refusal metric and the `reason` log field.
 * Messages are safe to send to the agent: they name what was wrong, never a token or ticket.
 */
import { AgentError, type AgentErrorCode, isAgentError } from '../errors.js';

/** Every reason, by the check that gives it. */
export const NODE_REASONS = {
  noAgentToken: 'no_agent_token',
  agentTokenNotAuthenticated: 'agent_token_not_authenticated',
  agentWrongAccount: 'agent_wrong_account',
  agentWrongAudience: 'agent_wrong_audience',
  agentTokenNotBound: 'agent_token_not_bound',
  workloadTokenNotAuthenticated: 'workload_token_not_authenticated',
  workloadNotServiceAccount: 'workload_not_service_account',
  workloadNotBoundToPod: 'workload_not_bound_to_pod',
  workloadOtherPod: 'workload_other_pod',
  workloadNotBoundToNode: 'workload_not_bound_to_node',
  workloadOtherNode: 'workload_other_node',
  ownName: 'own_name',
  renewalNeedsToken: 'renewal_needs_token',
  ticketMalformed: 'ticket_malformed',
  ticketUnknownKey: 'ticket_unknown_key',
  ticketExpired: 'ticket_expired',
  ticketOtherNode: 'ticket_other_node',
  ticketOtherIdentity: 'ticket_other_identity',
  certificateMismatch: 'certificate_mismatch',
  proofInvalid: 'proof_invalid',
  rateLimited: 'rate_limited',
  invalidRequest: 'invalid_request',
  apiUnavailable: 'api_unavailable',
  issuerNotReady: 'issuer_not_ready',
  notImplemented: 'not_implemented',
  cancelled: 'cancelled',
  internal: 'internal',
} as const;
export type NodeReason = (typeof NODE_REASONS)[keyof typeof NODE_REASONS];

/** A refusal or failure of the node service, with its {@link NodeReason}. */
export class NodeServiceError extends AgentError {
  readonly reason: NodeReason;

  constructor(code: AgentErrorCode, reason: NodeReason, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.reason = reason;
  }
}

/** `NOT_PERMITTED` with a reason: the caller may not have this (PERMISSION_DENIED). */
export function notPermitted(reason: NodeReason, message: string, cause?: unknown): NodeServiceError {
  return new NodeServiceError('NOT_PERMITTED', reason, message, cause === undefined ? undefined : { cause });
}

/** `INVALID_REQUEST`: the request is malformed (INVALID_ARGUMENT; agents never pass it on). */
export function invalidRequest(message: string, cause?: unknown): NodeServiceError {
  return new NodeServiceError('INVALID_REQUEST', NODE_REASONS.invalidRequest, message, cause === undefined ? undefined : { cause });
}

/** The reason of any failure of a node-service call, for the refusal metric and the log. */
export function reasonOf(err: unknown): NodeReason {
  if (err instanceof NodeServiceError) return err.reason;
  if (!isAgentError(err)) return NODE_REASONS.internal;
  switch (err.code) {
    case 'TOKEN_REVIEW_FAILED':
      return NODE_REASONS.apiUnavailable;
    case 'INVALID_REQUEST':
      return NODE_REASONS.invalidRequest;
    case 'ISSUER_NOT_READY':
    case 'SHUTTING_DOWN':
      return NODE_REASONS.issuerNotReady;
    case 'NOT_IMPLEMENTED':
      return NODE_REASONS.notImplemented;
    case 'CANCELLED':
      return NODE_REASONS.cancelled;
    default:
      return NODE_REASONS.internal;
  }
}
