/**
 * The one place that decides Workload API status codes (SPEC §2). Wire messages are fixed
 * strings; the cause goes to the log. `INVALID_ARGUMENT` is fatal to clients (the Linkerd proxy,
 * go-spiffe), so it is used only for the security header and bad request fields — never for a
 * transient fault.
 */
import { status } from '@grpc/grpc-js';
import { isAgentError } from '../errors.js';

export interface WorkloadStatus {
  readonly code: status;
  readonly details: string;
}

export const SECURITY_HEADER_MISSING = 'security header missing from request';
export const NO_IDENTITY_ISSUED = 'no identity issued';
export const ATTESTATION_FAILED = 'workload attestation failed';

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
