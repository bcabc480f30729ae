/**
 * The one place that decides Workload API status codes (docs/workload-api.md). Wire messages are fixed
 * strings; the cause goes to the log. `INVALID_ARGUMENT` is fatal to clients (the Linkerd proxy,
 * go-spiffe), so it is used only for the security header and bad request fields — never for a
 * transient fault.
 */
import { status } from '@grpc/grpc-js';
import { isAgentError } from '../errors.js';
import { NodeServiceError } from './node-service-error.js';

export interface WorkloadStatus {
  readonly code: status;
  readonly details: string;
}

export const SECURITY_HEADER_MISSING = 'security header missing from request';
export const NO_IDENTITY_ISSUED = 'no identity issued';
export const ATTESTATION_FAILED = 'workload attestation failed';
export const ISSUER_UNAVAILABLE = 'issuer unavailable';

/**
 * A central-issuer failure as a workload sees it: a refusal (the issuer will not sign for this
 * caller: another node's token, a deleted pod) is PERMISSION_DENIED; a JWT-SVID from an issuer
 * with no JWT key is UNIMPLEMENTED; anything else — unreachable, rate-limited, the agent's own
 * token refused, even a malformed request — is UNAVAILABLE, which clients retry. The issuer's
 * INVALID_ARGUMENT never reaches a workload: clients take it as fatal.
 */
function issuerCallStatus(err: NodeServiceError): WorkloadStatus {
  if (err.status === status.PERMISSION_DENIED) return { code: status.PERMISSION_DENIED, details: NO_IDENTITY_ISSUED };
  if (err.status === status.UNIMPLEMENTED && err.method === 'MintJWTSVID') {
    return { code: status.UNIMPLEMENTED, details: 'the issuer mints no JWT-SVIDs' };
  }
  return { code: status.UNAVAILABLE, details: ISSUER_UNAVAILABLE };
}

/** Maps any error raised while serving a Workload API call to the status the client sees. */
export function workloadStatus(err: unknown): WorkloadStatus {
  if (!isAgentError(err)) return { code: status.UNAVAILABLE, details: 'internal error' };
  switch (err.code) {
    case 'SECURITY_HEADER_MISSING':
      return { code: status.INVALID_ARGUMENT, details: SECURITY_HEADER_MISSING };
    case 'INVALID_REQUEST':
    case 'JWT_SVID_INVALID':
      // SPIRE sends the validation error text (`token has expired`, ...): it says what failed.
      return { code: status.INVALID_ARGUMENT, details: err.message };
    case 'NO_IDENTITY':
    case 'TOKEN_NOT_AUTHENTICATED':
    case 'TOKEN_INVALID':
      return { code: status.PERMISSION_DENIED, details: NO_IDENTITY_ISSUED };
    case 'ATTESTATION_UNAVAILABLE':
    case 'TOKEN_REVIEW_FAILED':
      return { code: status.UNAVAILABLE, details: ATTESTATION_FAILED };
    case 'ISSUER_CALL_FAILED':
      return err instanceof NodeServiceError ? issuerCallStatus(err) : { code: status.UNAVAILABLE, details: ISSUER_UNAVAILABLE };
    case 'ISSUER_NOT_READY':
      return { code: status.UNAVAILABLE, details: 'issuer not ready' };
    case 'NOT_IMPLEMENTED':
      return { code: status.UNIMPLEMENTED, details: err.message };
    case 'SHUTTING_DOWN':
      return { code: status.UNAVAILABLE, details: 'agent is shutting down' };
    case 'CANCELLED':
      // The client hung up; nobody reads this, but logs and metrics must not call it a failure.
      return { code: status.CANCELLED, details: 'call cancelled' };
    default:
      // Signing failures, bad credentials and bugs: the client can do nothing but retry.
      return { code: status.UNAVAILABLE, details: 'could not issue identity' };
  }
}
