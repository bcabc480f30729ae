/**
 * The embedded issuer: the agent signs with `--issuer-dir` and `--jwt-key` itself, and attests
 * with the attestor it was given (`attestors.ts`: unix, or k8s with its own TokenReviews).
 */
import { createX509SvidSigner, type IssuerCredentials, loadIssuer, loadJwtKeys } from '../issuer/index.js';
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
  const issuer = await loadIssuer(issuerDir, anchors.get(), { now: clock.now() });
  logger.info(
    {
      path: issuer.certificatePath,
      subject: issuer.certificate.subject,
      not_after: new Date(issuer.notAfter).toISOString(),
      anchors: anchors.get().certificates.length,
    },
    'loaded issuer credentials',
  );
  const attestor = await createAttestor(config, logger, deps.metrics);
  const issuerChannel = createValueChannel<IssuerCredentials | undefined>(issuer);
  const jwt = await loadJwtKeys({
    path: config.jwtKey,
    ttlMs: config.jwtTtlMs,
    forbidden: () => {
      const current = issuerChannel.receiver.get();
      return [...(current ? [current.privateKey] : []), ...anchors.get().certificates.map((c) => c.publicKey)];
    },
    clock,
    logger,
  });
  // Signs the workload keys' public halves with the issuer in use.
  const signer = createX509SvidSigner({
    issuer: issuerChannel.receiver,
    clock,
    lifetimeMs: config.svidTtlMs,
    clockSkewMs: config.clockSkewMs,
    logger,
  });
  return {
    attestor,
    x509: signer,
    jwt: jwt.keys && localJwtSource(jwt.keys, config.jwtTtlMs),
    issuer: { initial: issuer, channel: issuerChannel },
    reachable: undefined,
    // The credential reloader re-issues on an issuer change (agent.ts).
    attach: () => undefined,
    reload: () => jwt.reload(),
    close: () => jwt.close(),
  };
}
