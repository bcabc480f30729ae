/**
 * The Kubernetes part of the attestor: its own entry, reached only through `import()`, so that
 * unix and dev mode never load the Kubernetes client (test/architecture.test.ts checks it).
 */
export { createK8sAttestor, K8S_ATTESTOR_NAME, type K8sAttestorOptions } from './k8s-attestor.js';
export {
  checkTokenReviewAccess,
  createKubeApi,
  type KubeApi,
  KubeApiUnavailableError,
  loadKubeConfig,
} from './kube-client.js';
export {
  createTokenReviewValidator,
  DEFAULT_TOKEN_AUDIENCE,
  type TokenReviewObservation,
  type TokenReviewValidator,
} from './token-review.js';
