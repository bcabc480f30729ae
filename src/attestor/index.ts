export { type CgroupIdentity, parseCgroupFile } from './cgroup.js';
export { createK8sAttestor, K8S_ATTESTOR_NAME, type K8sAttestorOptions } from './k8s-attestor.js';
export {
  checkTokenReviewAccess,
  createKubeApi,
  type KubeApi,
  KubeApiUnavailableError,
  loadKubeConfig,
} from './kube-client.js';
export { createProcReader, ProcessGoneError, type ProcReader } from './proc.js';
export {
  createTokenReviewValidator,
  DEFAULT_TOKEN_AUDIENCE,
  type TokenReviewObservation,
  type TokenReviewValidator,
} from './token-review.js';
export { parseBearerAuthorization } from './token-source.js';
export type {
  Attestation,
  AttestationObserver,
  AttestationOutcome,
  AttestRequest,
  Caller,
  PeerCredentials,
  WorkloadAttestor,
} from './types.js';
export { createUnixAttestor, UNIX_NAMESPACE } from './unix-attestor.js';
