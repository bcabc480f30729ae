/**
 * The credentials an embedded or central issuer starts with: the trust anchors, then the issuer
 * verified against them, logged once; and the keys the JWT key must never be.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import type { Receiver } from '../value-channel.js';
import { type TrustAnchors, warnSkippedAnchors } from './anchor-bundle.js';
import { type IssuerCredentials, loadIssuer, loadTrustAnchors } from './credentials.js';
import { type JwtKeys, loadJwtKeys } from './jwt-keys.js';
import { createX509SvidSigner, type X509SvidSigner } from './x509-svid-signer.js';

/**
 * Loads `--trust-anchors` and `--issuer-dir` at start, warning about skipped anchors and logging
 * the issuer loaded.
 * @throws AgentError `CREDENTIALS_INVALID` / `CREDENTIALS_UNREADABLE` (the caller refuses to start)
 */
export async function loadStartupCredentials(
  paths: { readonly trustAnchors: string; readonly issuerDir: string },
  options: { readonly now: number; readonly logger: Logger },
): Promise<{ anchors: TrustAnchors; issuer: IssuerCredentials }> {
  const anchors = await loadTrustAnchors(paths.trustAnchors, { now: options.now });
  warnSkippedAnchors(options.logger.child({ subsystem: 'credentials' }), paths.trustAnchors, anchors);
  const issuer = await loadIssuerLogged(paths.issuerDir, anchors, options);
  return { anchors, issuer };
}

/** Loads `--issuer-dir` against `anchors` and logs the issuer loaded (never its key). */
export async function loadIssuerLogged(
  issuerDir: string,
  anchors: TrustAnchors,
  options: { readonly now: number; readonly logger: Logger },
): Promise<IssuerCredentials> {
  const issuer = await loadIssuer(issuerDir, anchors, { now: options.now });
  options.logger.info(
    {
      path: issuer.certificatePath,
      subject: issuer.certificate.subject,
      not_after: new Date(issuer.notAfter).toISOString(),
      anchors: anchors.certificates.length,
    },
    'loaded issuer credentials',
  );
  return issuer;
}

/** The X.509 keys in use (the issuer's and the anchors'), which the JWT key must be none of. */
export function x509KeysInUse(
  issuer: Receiver<IssuerCredentials | undefined>,
  anchors: Receiver<TrustAnchors>,
): () => readonly KeyObject[] {
  return () => {
    const current = issuer.get();
    return [...(current ? [current.privateKey] : []), ...anchors.get().certificates.map((c) => c.publicKey)];
  };
}

/** What {@link startSigners} takes: the credentials in use and the signing options. */
export interface SignersOptions {
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly anchors: Receiver<TrustAnchors>;
  /** `--jwt-key`; none disables JWT-SVIDs. */
  readonly jwtKey: string | undefined;
  readonly jwtTtlMs: number;
  readonly svidTtlMs: number;
  readonly clockSkewMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The signing side of an issuer, embedded or central: the JWT key (followed on disk, never one of
 * the X.509 keys in use) and the X.509-SVID signer over the issuer in use.
 * @throws AgentError `CREDENTIALS_INVALID` when the JWT key file is unusable
 */
export async function startSigners(options: SignersOptions): Promise<{ jwt: JwtKeys; signer: X509SvidSigner }> {
  const { clock, logger } = options;
  const jwt = await loadJwtKeys({
    path: options.jwtKey,
    ttlMs: options.jwtTtlMs,
    forbidden: x509KeysInUse(options.issuer, options.anchors),
    clock,
    logger,
  });
  const signer = createX509SvidSigner({
    issuer: options.issuer,
    clock,
    lifetimeMs: options.svidTtlMs,
    clockSkewMs: options.clockSkewMs,
    logger,
  });
  return { jwt, signer };
}
