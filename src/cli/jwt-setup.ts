/**
 * `run` composition for JWT-SVIDs (issue 4): load `--jwt-key` (never one of the X.509 CA keys)
 * and build the JWT Workload API handlers. Kept out of `run.ts` so that file stays a list of
 * steps.
 */
import type { KeyObject } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { createJwtHandlers, type ExtraHandlerContext } from '../agent/index.js';
import type { Clock } from '../clock.js';
import { createJwtKeySet, type JwtKeySet, loadJwtSigningKey } from '../issuer/index.js';
import { F, type Logger } from '../log.js';
import { createWatch, type Watch } from '../watch.js';

/** Options of {@link loadJwtHandlers}. */
export interface JwtSetupOptions {
  /** `--jwt-key`; `undefined` disables JWT-SVIDs (the JWT methods answer UNIMPLEMENTED). */
  readonly path: string | undefined;
  readonly trustDomain: string;
  /** `--jwt-ttl`, ms. */
  readonly ttlMs: number;
  /** The X.509 issuer and anchor keys: the JWT key must be none of them (SPEC §7). */
  readonly forbidden: readonly KeyObject[];
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Loads the JWT key and returns the handlers for `createWorkloadAgent({ extraHandlers })`.
 * @throws AgentError `CREDENTIALS_INVALID` when the key file is unusable (the agent refuses to start)
 */
export async function loadJwtHandlers(options: JwtSetupOptions): Promise<(context: ExtraHandlerContext) => UntypedServiceImplementation> {
  const { logger } = options;
  let keys: Watch<JwtKeySet> | undefined;
  if (options.path === undefined) {
    logger.warn({}, 'jwt-svids disabled: no --jwt-key configured');
  } else {
    const key = await loadJwtSigningKey(options.path, { forbidden: options.forbidden });
    logger.info({ [F.path]: options.path, kid: key.kid, alg: key.alg }, 'loaded jwt signing key');
    keys = createWatch(createJwtKeySet(key));
  }
  return createJwtHandlers({
    keys: keys?.receiver,
    trustDomain: options.trustDomain,
    ttlMs: options.ttlMs,
    clock: options.clock,
    logger,
  });
}
