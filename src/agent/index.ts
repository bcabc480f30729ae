export { type WorkloadAgent, type WorkloadAgentOptions, createWorkloadAgent } from './agent.js';
export { type AttestedGrants, createAttestedGrants } from './attested-grants.js';
export { type IssuedSvid, type SvidLease, type SvidStore, createSvidStore } from './svid-store.js';
export { SECURITY_HEADER } from './caller-resolver.js';
export { type AgentMetrics, type MetricSources, METRIC_NAMES, createAgentMetrics } from './metrics.js';
export {
  type HttpEndpoints,
  type HttpEndpointsOptions,
  type ReadinessChecks,
  type ReadinessReport,
  readinessReport,
  startHttpEndpoints,
} from './http-endpoints.js';
export { type ExtraHandlerContext } from './agent.js';
export { type JwtHandlerOptions, MAX_AUDIENCE_BYTES, MAX_AUDIENCES, createJwtHandlers } from './jwt-handler.js';
export { JWT_SVID_CACHE_SIZE, type JwtSvidCache, createJwtSvidCache } from './jwt-svid-cache.js';
