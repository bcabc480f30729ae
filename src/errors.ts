/**
 * Coded errors shared by every part of the agent.
 *
 * Rules:
 * - misuse by a caller of an API (bad options at construction) throws `TypeError`;
 * - runtime failures throw an {@link AgentError} with a code from the closed union below;
 * - messages are lower-case with no trailing period; details that must not reach a
 *   client go in `cause`, which only the log sees;
 * - gRPC status codes are decided in exactly one place per API
 *   (`src/agent/status.ts` for the Workload API, `src/issuer/certify-status.ts` for Certify,
 *   `src/server/node-status.ts` for the central issuer's node service).
 */

/** Every code an {@link AgentError} may carry. */
export type AgentErrorCode =
  /** the `workload.spiffe.io: true` metadata is missing or repeated */
  | 'SECURITY_HEADER_MISSING'
  /** the caller is known and has no identity (or not the one it asked for) */
  | 'NO_IDENTITY'
  /** attestation could not be completed (API server down, /proc unreadable); retryable */
  | 'ATTESTATION_UNAVAILABLE'
  /** a request field is missing or malformed; the message is safe to send to the client */
  | 'INVALID_REQUEST'
  /** a CSR breaks the Certify rules (docs/linkerd-identity.md, "What Certify checks") */
  | 'CSR_REJECTED'
  /** TokenReview said the token is not authenticated */
  | 'TOKEN_NOT_AUTHENTICATED'
  /** TokenReview reported an error for the token, or the username is not acceptable */
  | 'TOKEN_INVALID'
  /** the Kubernetes API could not be asked (network, 5xx, timeout) */
  | 'TOKEN_REVIEW_FAILED'
  /** the identity asked for is not the identity the token proves */
  | 'IDENTITY_MISMATCH'
  /** no issuer credentials are loaded yet */
  | 'ISSUER_NOT_READY'
  /** trust anchors or issuer credentials are unusable (not a CA, wrong key, expired, ...) */
  | 'CREDENTIALS_INVALID'
  /** a credential file exists but cannot be read right now (EMFILE, EIO, EACCES, ...); retryable */
  | 'CREDENTIALS_UNREADABLE'
  /** signing a certificate or token failed */
  | 'SIGNING_FAILED'
  /** a JWT-SVID failed validation; the message says what failed and is safe to send to the client */
  | 'JWT_SVID_INVALID'
  /** configuration or command-line input is wrong */
  | 'CONFIG_INVALID'
  /** the operation is not implemented */
  | 'NOT_IMPLEMENTED'
  /** the agent is shutting down */
  | 'SHUTTING_DOWN'
  /** the caller went away (hung up, cancelled) before its call was answered */
  | 'CANCELLED'
  /** a client found no working agent: no socket, nothing listening, no answer in time */
  | 'AGENT_UNAVAILABLE'
  /** a node agent's own token is missing, or the API server does not authenticate it (central issuer) */
  | 'AGENT_NOT_AUTHENTICATED'
  /** a node agent asked for what its node may not have: another node's workload, a wrong account, another node's ticket (central issuer) */
  | 'NOT_PERMITTED'
  /** a node agent sent more requests than its node's share (central issuer); retryable after a pause */
  | 'RATE_LIMITED'
  /** a call to the central issuer failed or was refused; `NodeServiceError.status` says how */
  | 'ISSUER_CALL_FAILED'
  /** a bug or an unexpected failure */
  | 'INTERNAL';

/** Base class of every runtime error the agent raises on purpose. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `err` is an {@link AgentError}, optionally with one of `codes`. */
export function isAgentError(err: unknown, ...codes: AgentErrorCode[]): err is AgentError {
  return err instanceof AgentError && (codes.length === 0 || codes.includes(err.code));
}

/** A short, single-line description of any thrown value, for logs. Never includes a stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause === undefined ? '' : `: ${describeError(err.cause)}`;
    return `${err.message}${cause}`;
  }
  return String(err);
}

/** What a failed file-system call's `code` means, in words, for messages naming a path. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a file is in the way where a directory is needed',
  EEXIST: 'a file is in the way',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'name too long',
};

/**
 * Why a file could not be used, in a few words: the meaning of a file-system error code
 * (`ENOENT` → `no such file or directory`), else the first line of the error's message (a
 * parser's complaint, e.g. a YAML error with its line and column).
 */
export function fileErrorReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && FS_REASONS[code] !== undefined) return FS_REASONS[code];
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
