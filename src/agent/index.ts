export { type AgentDeps, REISSUE_SPREAD_MS, type RunAgentDeps, type RunningAgent, runAgent, startAgent } from './agent.js';
export { SECURITY_HEADER } from './caller-resolver.js';
export type { AgentConfig, AttestorKind, CentralIssuerConfig } from './config.js';
export { type CheckAgentFilesOptions, checkAgentFiles } from './config-check.js';
export { METRIC_NAMES } from './metric-names.js';
export type { IssuedSvid, SvidLease, SvidStore } from './svid-store.js';
export type { WorkloadApiServer } from './workload-api-server.js';
