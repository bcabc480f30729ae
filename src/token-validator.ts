/**
 * Token validation as both sides see it (docs/linkerd-identity.md): the issuer's Certify checks a token, the k8s
 * attestor proves a caller's account with one. Shared here because the issuer never imports the
 * attestor; the Kubernetes TokenReview implementation lives in `src/attestor/` and is passed in.
 */
import type { AccountRef } from './identity.js';

/** What a valid token proves. */
export interface ValidatedToken {
  /** From `status.user.username` = `system:<type>:<namespace>:<name>`. */
  readonly account: AccountRef;
  /** Audiences the API server confirmed (`status.audiences`). */
  readonly audiences: readonly string[];
  /** `authentication.kubernetes.io/pod-uid` extra, for bound tokens. */
  readonly podUid?: string;
  /** `authentication.kubernetes.io/pod-name` extra. */
  readonly podName?: string;
  /** `authentication.kubernetes.io/node-name` extra (newer clusters). */
  readonly nodeName?: string;
}

/**
 * Validates a bearer token.
 * Throws `AgentError` with code:
 * - `TOKEN_NOT_AUTHENTICATED` when the API server says it is not authenticated;
 * - `TOKEN_INVALID` when the review reports an error, the audiences do not match, or the
 *   username is not `system:<type>:<ns>:<name>` with DNS-1123 labels;
 * - `TOKEN_REVIEW_FAILED` when the API could not be asked (network, 5xx, timeout);
 * - `CANCELLED` when `signal` aborted first.
 */
export interface TokenValidator {
  /**
   * `signal` ends the caller's wait (`CANCELLED`); whether the validation itself goes on is the
   * validator's. `podUid` is the pod the caller runs in, for a validator that checks the binding
   * itself (the central issuer's ReviewWorkload); a TokenReview ignores it.
   */
  validate(token: string, options?: { signal?: AbortSignal | undefined; podUid?: string | undefined }): Promise<ValidatedToken>;
}
