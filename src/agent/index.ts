export { createWorkloadAgent, type ExtraHandlerContext, type WorkloadAgent, type WorkloadAgentOptions } from './agent.js';
export { type AttestedGrants, createAttestedGrants } from './attested-grants.js';
export { SECURITY_HEADER } from './caller-resolver.js';
export {
  type HttpEndpoints,
  type HttpEndpointsOptions,
  type ReadinessChecks,
  type ReadinessReport,
  readinessReport,
  startHttpEndpoints,
} from './http-endpoints.js';
export { createJwtHandlers, type JwtHandlerOptions, MAX_AUDIENCE_BYTES, MAX_AUDIENCES } from './jwt-handler.js';
export { createJwtSvidCache, JWT_SVID_CACHE_SIZE, type JwtSvidCache } from './jwt-svid-cache.js';
export { type AgentMetrics, createAgentMetrics, METRIC_NAMES, type MetricSources } from './metrics.js';
export { createSvidStore, type IssuedSvid, type SvidLease, type SvidStore } from './svid-store.js';
