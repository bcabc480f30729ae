export type {
  AttestRequest,
  Attestation,
  AttestationObserver,
  AttestationOutcome,
  Caller,
  PeerCredentials,
  WorkloadAttestor,
} from './types.js';
export { createProcReader, ProcessGoneError, type ProcReader } from './proc.js';
export { parseCgroupFile, type CgroupIdentity } from './cgroup.js';
export { createUnixAttestor, UNIX_NAMESPACE } from './unix-attestor.js';
export { createK8sAttestor, K8S_ATTESTOR_NAME, type K8sAttestorOptions } from './k8s-attestor.js';
export {
  createTokenReviewValidator,
  DEFAULT_TOKEN_AUDIENCE,
  type TokenReviewObservation,
  type TokenReviewValidator,
} from './token-review.js';
export {
  checkTokenReviewAccess,
  createKubeApi,
  KubeApiUnavailableError,
  loadKubeConfig,
  type KubeApi,
} from './kube-client.js';
