/**
 * The one place that decides Certify's gRPC status codes (docs/linkerd-identity.md "What Certify checks", the order of checks and status
 * codes"). Messages follow Linkerd's so that proxies and operators see familiar text.
 */
import { status } from '@grpc/grpc-js';
import { isAgentError } from '../errors.js';

export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
}

/** Maps an error thrown by `Certifier.certify` for `identity` to the status sent to the client. */
export function certifyStatus(err: unknown, identity: string): GrpcStatus {
  if (!isAgentError(err)) return { code: status.INTERNAL, details: 'internal error' };
  switch (err.code) {
    case 'ISSUER_NOT_READY':
      return { code: status.UNAVAILABLE, details: err.message };
    case 'INVALID_REQUEST':
    case 'TOKEN_INVALID':
      return { code: status.INVALID_ARGUMENT, details: err.message };
    case 'CSR_REJECTED':
    case 'IDENTITY_MISMATCH':
      return { code: status.FAILED_PRECONDITION, details: err.message };
    case 'NOT_PERMITTED':
      // Not in Linkerd's table: the central issuer's own name (docs/linkerd-identity.md).
      return { code: status.PERMISSION_DENIED, details: err.message };
    case 'TOKEN_NOT_AUTHENTICATED':
      return { code: status.FAILED_PRECONDITION, details: 'authentication token could not be authenticated' };
    case 'TOKEN_REVIEW_FAILED':
      return { code: status.INTERNAL, details: `error validating token for ${identity}` };
    case 'SIGNING_FAILED':
      return { code: status.INTERNAL, details: err.message };
    default:
      return { code: status.INTERNAL, details: 'internal error' };
  }
}
