/** The central issuer (`svid-agent issuer`): its configuration and its composition root. */
export type { IssuerServerConfig } from './config.js';
export {
  type IssuerServerDeps,
  ownNamesOf,
  type RunIssuerServerDeps,
  type RunningIssuer,
  runIssuerServer,
  startIssuerServer,
} from './issuer-server.js';
export { ISSUER_METRIC_NAMES } from './metrics.js';
export { listenForNodes, type NodeListener } from './node-listener.js';
export { NODE_BURST, NODE_RATE_PER_SECOND } from './rate-limit.js';
