/**
 * Log field names, apart from the logger (`log.ts`) so that code that only names fields (the
 * issuer, run by `certs create` too) does not load pino.
 */

/** Field names used across the code base, so that logs can be queried consistently. */
export const LOG_FIELD = {
  subsystem: 'subsystem',
  pid: 'pid',
  uid: 'uid',
  gid: 'gid',
  connection: 'conn',
  method: 'method',
  spiffeId: 'spiffe_id',
  /** A requested identity, either form (Linkerd Certify). */
  identity: 'identity',
  serial: 'serial',
  notAfter: 'not_after',
  reason: 'reason',
  error: 'error',
  path: 'path',
  podUid: 'pod_uid',
  count: 'count',
  durationMs: 'duration_ms',
} as const;
