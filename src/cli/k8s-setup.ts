/**
 * Composition of the Kubernetes attestor (issue 3): kubeconfig → API client → start-up
 * access check → TokenReview validator → attestor.
 */

import type { AttestationObserver, WorkloadAttestor } from '../attestor/index.js';
import {
  checkTokenReviewAccess,
  createK8sAttestor,
  createKubeApi,
  createTokenReviewValidator,
  KubeApiUnavailableError,
  loadKubeConfig,
  type TokenReviewObservation,
} from '../attestor/kubernetes.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunConfig } from './run-config.js';

/** Metrics hooks of the attestor and its TokenReview validator. */
export interface K8sAttestorHooks {
  readonly onOutcome?: AttestationObserver;
  readonly onReview?: (observation: TokenReviewObservation) => void;
}

/**
 * Builds the k8s attestor. Refuses (throws `CONFIG_INVALID`) when the API says the agent may
 * not create tokenreviews; when the API cannot be reached it logs and goes on, so that a node
 * restarting during an API outage still serves the callers it can once the API is back.
 */
export async function createK8sAttestorFromConfig(
  config: RunConfig,
  logger: Logger,
  hooks: K8sAttestorHooks = {},
): Promise<WorkloadAttestor> {
  const api = createKubeApi(loadKubeConfig({ kubeconfigPath: config.kubeconfig }));
  try {
    await checkTokenReviewAccess(api);
  } catch (err) {
    if (!(err instanceof KubeApiUnavailableError)) throw err;
    logger.warn({ error: describeError(err) }, 'cannot check tokenreview access yet; attestation will fail until the api is reachable');
  }
  const validator = createTokenReviewValidator({ api, logger, audience: config.tokenAudience, onReview: hooks.onReview });
  return createK8sAttestor({
    validator,
    logger,
    procRoot: config.procRoot,
    tokenPaths: config.tokenPaths,
    nodeName: config.nodeName,
    onOutcome: hooks.onOutcome,
  });
}
