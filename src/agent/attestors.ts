/**
 * Which attestor the agent runs. `unix` is built in; the Kubernetes one (issue 3) is loaded
 * through `import()` only when asked for, so unix and dev mode never load the Kubernetes client:
 * kubeconfig → API client → start-up access check → TokenReview validator → attestor.
 */
import type { WorkloadAttestor } from '../attestor/index.js';
import { createUnixAttestor } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AgentConfig } from './config.js';
import type { AgentMetrics } from './metrics.js';

/** The configured attestor, and what stops its resources (the TokenReview cache) when the agent stops. */
export interface RunningAttestor {
  readonly attestor: WorkloadAttestor;
  close(): void;
}

/**
 * Builds the configured attestor. The Kubernetes one refuses (throws `CONFIG_INVALID`) when the
 * API says the agent may not create tokenreviews; when the API cannot be reached it logs and goes
 * on, so that a node restarting during an API outage serves its callers once the API is back.
 */
export async function createAttestor(config: AgentConfig, logger: Logger, metrics: AgentMetrics, clock: Clock): Promise<RunningAttestor> {
  if (config.attestor === 'unix') return { attestor: createUnixAttestor({ onOutcome: metrics.onAttestation }), close: () => undefined };
  const k8s = await import('../attestor/kubernetes.js');
  const api = k8s.createKubeApi(await k8s.loadKubeConfig({ kubeconfigPath: config.kubeconfig }));
  try {
    await k8s.checkTokenReviewAccess(api);
  } catch (err) {
    if (!(err instanceof k8s.KubeApiUnavailableError)) throw err;
    logger.warn({ error: describeError(err) }, 'cannot check tokenreview access yet; attestation will fail until the api is reachable');
  }
  const validator = k8s.createTokenReviewValidator({
    api,
    logger,
    clock,
    audience: config.tokenAudience,
    onReview: metrics.onTokenReview,
  });
  const attestor = k8s.createK8sAttestor({
    validator,
    logger,
    procRoot: config.procRoot,
    tokenPaths: config.tokenPaths,
    nodeName: config.nodeName,
    onOutcome: metrics.onAttestation,
    clock,
  });
  return { attestor, close: () => validator.close() };
}
