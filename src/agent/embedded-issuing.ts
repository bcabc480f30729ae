/**
 * The embedded issuer: the agent signs with `--issuer-dir` and `--jwt-key` itself, and attests
 * with the attestor it was given (`attestors.ts`: unix, or k8s with its own TokenReviews).
 */
import { type IssuerCredentials, loadIssuerLogged, startSigners } from '../issuer/index.js';
import { createValueChannel } from '../value-channel.js';
import { createAttestor } from './attestors.js';
import type { AgentConfig } from './config.js';
import type { Issuing, IssuingDeps } from './issuing.js';
import { localJwtSource } from './jwt-source.js';

/** After an issuer swap every identity is re-issued, spread over this window (not all at once). */
export const REISSUE_SPREAD_MS = 5_000;

/**
 * Loads the issuer and the JWT key and builds the attestor.
 * @throws AgentError `CREDENTIALS_INVALID` / `CONFIG_INVALID` when the agent must refuse to start
 */
export async function startEmbeddedIssuing(config: AgentConfig, issuerDir: string, deps: IssuingDeps): Promise<Issuing> {
  const { logger, clock, anchors } = deps;
  const issuer = await loadIssuerLogged(issuerDir, anchors.get(), { now: clock.now(), logger });
  const attestation = await createAttestor(config, logger, deps.metrics, clock);
  const issuerChannel = createValueChannel<IssuerCredentials | undefined>(issuer);
  // Signs the workload keys' public halves with the issuer in use.
  const { jwt, signer } = await startSigners({
    issuer: issuerChannel.receiver,
    anchors,
    jwtKey: config.jwtKey,
    jwtTtlMs: config.jwtTtlMs,
    svidTtlMs: config.svidTtlMs,
    clockSkewMs: config.clockSkewMs,
    clock,
    logger,
  });
  return {
    attestor: attestation.attestor,
    x509: signer,
    jwt: jwt.keys && localJwtSource(jwt.keys, config.jwtTtlMs),
    issuer: { initial: issuer, channel: issuerChannel },
    reachable: undefined,
    // The credential reloader re-issues on an issuer change (agent.ts).
    attach: () => undefined,
    reload: () => jwt.reload(),
    close: () => {
      jwt.close();
      attestation.close();
    },
  };
}
