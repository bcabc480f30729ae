export { type WorkloadAgent, type WorkloadAgentOptions, createWorkloadAgent } from './agent.js';
export { type AttestedGrants, createAttestedGrants } from './attested-grants.js';
export { type IssuedSvid, type SvidLease, type SvidStore, createSvidStore } from './svid-store.js';
export { SECURITY_HEADER } from './caller-resolver.js';
