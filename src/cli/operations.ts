/**
 * The operations surface of `svid-agent run` (SPEC §8, issue 6): what `/ready` and the state
 * gauges read, and the `--health-addr` listener. Composition only; the endpoints and metrics
 * live in `src/agent/`.
 */
import {
  type AgentMetrics,
  type HttpEndpoints,
  type ReadinessChecks,
  readinessReport,
  startHttpEndpoints,
  type WorkloadAgent,
} from '../agent/index.js';
import type { IssuerCredentials, TrustAnchors } from '../issuer/index.js';
import type { Logger } from '../log.js';
import type { Receiver } from '../watch.js';

/** Options of {@link startOperations}. */
export interface OperationsOptions {
  /** `--health-addr`; `''` turns the listener off (metrics are still kept). */
  readonly healthAddr: string;
  readonly metrics: AgentMetrics;
  readonly agent: Pick<WorkloadAgent, 'ready' | 'store'>;
  /** The issuer in use; `undefined` while none is loaded. */
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly anchors: Receiver<TrustAnchors>;
  /** False while the issuer does not chain to the anchors (after an anchor rotation dropped its root). */
  readonly issuerChainsToAnchors: Receiver<boolean>;
  readonly logger: Logger;
}

/**
 * Points the state gauges at the agent and starts the HTTP listener. Ready means: an issuer is
 * loaded, it chains to the trust anchors in use, and the Workload API socket is serving
 * (issues 5 and 6). An issuer cut off from the anchors keeps signing — workloads keep their
 * identities — but the node reports not ready, so the problem is loud, not silent.
 * @returns the listener, or `undefined` when `healthAddr` is `''`
 * @throws AgentError `CONFIG_INVALID` when the address cannot be bound
 */
export async function startOperations(options: OperationsOptions): Promise<HttpEndpoints | undefined> {
  const { agent, issuer, anchors, metrics } = options;
  const readiness: ReadinessChecks = {
    issuer: { get: () => issuer.get() !== undefined },
    issuer_chains_to_anchors: options.issuerChainsToAnchors,
    socket: agent.ready,
  };
  metrics.observe({
    identities: () => agent.store.size(),
    issuerNotAfterMs: () => issuer.get()?.notAfter,
    trustAnchorsNotAfterMs: () => anchors.get().notAfter,
    ready: () => readinessReport(readiness).ready,
    issuerChainsToAnchors: () => options.issuerChainsToAnchors.get(),
  });
  if (options.healthAddr === '') return undefined;
  return startHttpEndpoints({ address: options.healthAddr, readiness, metrics, logger: options.logger });
}
