/**
 * The one place that decides the node service's gRPC status codes (docs/central-issuer.md,
 * "Status codes"): a missing or unauthenticated agent token is UNAUTHENTICATED; whatever the
 * caller's node may not have is PERMISSION_DENIED; an unreachable API server, an issuer not
 * loaded or shutting down is UNAVAILABLE; a node over its rate RESOURCE_EXHAUSTED; only a
 * malformed request is INVALID_ARGUMENT.
 */
import { status } from '@grpc/grpc-js';
import { isAgentError } from '../errors.js';

/** A status code and the details sent with it. */
export interface NodeStatus {
  readonly code: status;
  readonly details: string;
}

/** Maps what a node-service call threw to the status sent to the agent. */
export function nodeServiceStatus(err: unknown): NodeStatus {
  if (!isAgentError(err)) return { code: status.INTERNAL, details: 'internal error' };
  switch (err.code) {
    case 'AGENT_NOT_AUTHENTICATED':
      return { code: status.UNAUTHENTICATED, details: err.message };
    case 'NOT_PERMITTED':
      return { code: status.PERMISSION_DENIED, details: err.message };
    case 'INVALID_REQUEST':
      return { code: status.INVALID_ARGUMENT, details: err.message };
    case 'RATE_LIMITED':
      return { code: status.RESOURCE_EXHAUSTED, details: err.message };
    case 'TOKEN_REVIEW_FAILED':
      return { code: status.UNAVAILABLE, details: 'the kubernetes api could not review a token; retry later' };
    case 'ISSUER_NOT_READY':
    case 'SHUTTING_DOWN':
      return { code: status.UNAVAILABLE, details: err.message };
    case 'NOT_IMPLEMENTED':
      return { code: status.UNIMPLEMENTED, details: err.message };
    case 'CANCELLED':
      return { code: status.CANCELLED, details: 'the call was cancelled' };
    default:
      return { code: status.INTERNAL, details: 'internal error' };
  }
}
