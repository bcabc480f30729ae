export { type CallerGroupMode, type CallerGroups, createCallerGroups } from './caller-groups.js';
export { type CgroupIdentity, parseCgroupFile } from './cgroup.js';
export { createFreshTokenReader, type FreshTokenReader, type FreshTokenReaderOptions } from './fresh-token.js';
export { createPeerTracker, type PeerTracker, type PeerTrackerOptions, type TrackedPeer } from './peer-tracker.js';
export { createProcReader, ProcessGoneError, type ProcReader } from './proc.js';
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
export {
  type CachingTokenValidator,
  type CachingValidatorOptions,
  createCachingValidator,
  MAX_REVIEW_CACHE_TTL_MS,
} from './validation-cache.js';
