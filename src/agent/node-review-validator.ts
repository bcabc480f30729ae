/**
 * The k8s attestor's token validator in central mode: the issuer's ReviewWorkload instead of a
 * TokenReview of the agent's own, so the agent needs no Kubernetes client and no RBAC at all
 * (docs/central-issuer.md). Cached like the TokenReview validator (`createCachingValidator`:
 * success at most 60 s and never past the token's `exp`, failures never). The issuer checks the
 * binding to this node and to the pod UID sent; the attestor checks it again on the answer.
 */
import { status } from '@grpc/grpc-js';
import { type CachingTokenValidator, createCachingValidator } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import { AgentError } from '../errors.js';
import { isDns1123Label, SERVICE_ACCOUNT_TYPE } from '../identity.js';
import type { ValidatedToken } from '../token-validator.js';
import type { NodeIssuerClient, ReviewedWorkload } from './node-client.js';
import { NodeServiceError } from './node-service-error.js';

/** Options of {@link createNodeReviewValidator}. */
export interface NodeReviewValidatorOptions {
  readonly client: Pick<NodeIssuerClient, 'reviewWorkload'>;
  /** The token audience the issuer reviews with (`--token-audience`), reported as the token's. */
  readonly audience: string;
  readonly clock?: Clock;
}

/**
 * What the answer proves, in the validator's terms.
 * @throws AgentError `TOKEN_INVALID` when the issuer names no usable account
 */
export function validatedFromReview(reviewed: ReviewedWorkload, audience: string): ValidatedToken {
  if (!isDns1123Label(reviewed.namespace) || !isDns1123Label(reviewed.serviceAccount)) {
    throw new AgentError('TOKEN_INVALID', 'the issuer named no usable service account for the token');
  }
  return {
    account: { type: SERVICE_ACCOUNT_TYPE, namespace: reviewed.namespace, name: reviewed.serviceAccount },
    audiences: [audience],
    ...(reviewed.podUid ? { podUid: reviewed.podUid } : {}),
    ...(reviewed.podName ? { podName: reviewed.podName } : {}),
    ...(reviewed.nodeName ? { nodeName: reviewed.nodeName } : {}),
  };
}

/**
 * A ReviewWorkload failure in the validator's terms: the issuer's refusal is an invalid token
 * (the caller is refused, PERMISSION_DENIED); anything else — unreachable, the agent's own token
 * refused, rate-limited — is a review that could not be made (UNAVAILABLE, retried).
 */
function reviewFailure(err: unknown): AgentError {
  if (err instanceof NodeServiceError && err.status === status.PERMISSION_DENIED) {
    return new AgentError('TOKEN_INVALID', 'the issuer refused the workload token', { cause: err });
  }
  return new AgentError('TOKEN_REVIEW_FAILED', 'the issuer could not review the workload token', { cause: err });
}

export function createNodeReviewValidator(options: NodeReviewValidatorOptions): CachingTokenValidator {
  return createCachingValidator({
    async review(token, podUid) {
      if (podUid === undefined) throw new AgentError('TOKEN_INVALID', 'the caller is not in a pod');
      let reviewed: ReviewedWorkload;
      try {
        reviewed = await options.client.reviewWorkload({ token, podUid });
      } catch (err) {
        throw reviewFailure(err);
      }
      return validatedFromReview(reviewed, options.audience);
    },
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
}
