/**
 * The central issuer's side of a node agent (`run --issuer-addr`, docs/central-issuer.md): the
 * agent holds no signing key and loads no Kubernetes client. It attests callers with the k8s
 * attestor, whose tokens the issuer reviews (ReviewWorkload); it has the issuer sign CSRs for the
 * keys it generates and mint JWT-SVIDs; it follows the issuer's bundle stream.
 */
import { createFreshTokenReader, createProcReader } from '../attestor/index.js';
import { createValueChannel } from '../value-channel.js';
import type { AgentConfig, CentralIssuerConfig } from './config.js';
import { followIssuerBundles, type IssuerBundles } from './issuer-bundles.js';
import { createIssuerReachability } from './issuer-reachability.js';
import type { Issuing, IssuingDeps } from './issuing.js';
import { type JwtBundle, remoteJwtSource } from './jwt-source.js';
import { createNodeIssuerClient } from './node-client.js';
import { createNodeReviewValidator } from './node-review-validator.js';
import { createRemoteX509Issuer } from './remote-x509-issuer.js';
import { NODE_TIMERS } from './timers.js';

/**
 * After an issuer swap, identities re-issue spread over this window: minutes, so that a fleet of
 * nodes does not ask the new issuer for every SVID at once. Renewal is not urgent then: the old
 * SVIDs stay valid while the trust anchors hold the old issuer's root.
 */
export const CENTRAL_REISSUE_SPREAD_MS = 10 * 60_000;

/** Builds the agent's side of the central issuer. Makes no call before the first workload asks. */
export async function startCentralIssuing(config: AgentConfig, central: CentralIssuerConfig, deps: IssuingDeps): Promise<Issuing> {
  const { logger, clock } = deps;
  const random = deps.random ?? Math.random;
  const reachability = createIssuerReachability(logger);
  deps.metrics.observeIssuerReachable(() => reachability.reachable.get());
  const client = createNodeIssuerClient({ issuer: central, anchors: deps.anchors, onReachability: reachability.report });
  const validator = createNodeReviewValidator({ client, audience: config.tokenAudience, clock });
  const proc = createProcReader({ procRoot: config.procRoot });
  // The Kubernetes attestor's own entry, as in embedded k8s mode (docs/architecture.md).
  const { createK8sAttestor } = await import('../attestor/kubernetes.js');
  const attestor = createK8sAttestor({
    validator,
    logger,
    proc,
    tokenPaths: config.tokenPaths,
    nodeName: config.nodeName,
    onOutcome: deps.metrics.onAttestation,
    clock,
  });
  const bundle = createValueChannel<JwtBundle | undefined>(undefined);
  let bundles: IssuerBundles | undefined;
  logger.info(
    { address: central.address, server_name: central.serverName, plaintext: central.plaintext },
    'using the central issuer; this agent holds no signing key',
  );
  return {
    attestor,
    x509: createRemoteX509Issuer({ client, freshToken: createFreshTokenReader({ proc, tokenPaths: config.tokenPaths }) }),
    jwt: remoteJwtSource(client, bundle.receiver),
    issuer: undefined,
    reachable: reachability.reachable,
    attach(store) {
      bundles = followIssuerBundles({
        client,
        bundle: bundle.sink,
        onIssuerSwap: () => store.reissueAll(CENTRAL_REISSUE_SPREAD_MS),
        logger,
        timers: NODE_TIMERS,
        random,
      });
    },
    reload: () => Promise.resolve(),
    close() {
      bundles?.close();
      validator.close();
      client.close();
    },
  };
}
