/**
 * `run` composition for JWT-SVIDs (issue 4): load `--jwt-key` (never one of the X.509 CA keys)
 * and build the JWT Workload API handlers. Kept out of `run.ts` so that file stays a list of
 * steps.
 */
import type { KeyObject } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { createJwtHandlers, type ExtraHandlerContext } from '../agent/index.js';
import type { Clock } from '../clock.js';
import {
  createJwtKeySet,
  JWT_LEEWAY_MS,
  type JwtKeyReloader,
  type JwtKeySet,
  loadJwtSigningKey,
  startJwtKeyReloader,
} from '../issuer/index.js';
import { F, type Logger } from '../log.js';
import { createWatch, type Watch } from '../watch.js';

/** Options of {@link setUpJwt}. */
export interface JwtSetupOptions {
  /** `--jwt-key`; `undefined` disables JWT-SVIDs (the JWT methods answer UNIMPLEMENTED). */
  readonly path: string | undefined;
  readonly trustDomain: string;
  /** `--jwt-ttl`, ms. */
  readonly ttlMs: number;
  /** The X.509 issuer and anchor keys in use: the JWT key must be none of them (SPEC §7). */
  readonly forbidden: () => readonly KeyObject[];
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The JWT handlers, and the watch on the key file that rotates the signing key. */
export interface JwtSetup {
  readonly handlers: (context: ExtraHandlerContext) => UntypedServiceImplementation;
  /** Stops watching the key file; a no-op without `--jwt-key`. */
  close(): void;
  /** Checks the key file now (tests; the watch and the poll do it otherwise). */
  reload(): Promise<void>;
}

/**
 * Loads the JWT key, starts watching its file, and returns the handlers for
 * `createWorkloadAgent({ extraHandlers })`.
 * @throws AgentError `CREDENTIALS_INVALID` when the key file is unusable (the agent refuses to start)
 */
export async function setUpJwt(options: JwtSetupOptions): Promise<JwtSetup> {
  const { logger } = options;
  let keys: Watch<JwtKeySet> | undefined;
  let reloader: JwtKeyReloader | undefined;
  if (options.path === undefined) {
    logger.warn({}, 'jwt-svids disabled: no --jwt-key configured');
  } else {
    const key = await loadJwtSigningKey(options.path, { forbidden: options.forbidden() });
    logger.info({ [F.path]: options.path, kid: key.kid, alg: key.alg }, 'loaded jwt signing key');
    keys = createWatch(createJwtKeySet(key));
    reloader = await startJwtKeyReloader({
      path: options.path,
      keys,
      forbidden: options.forbidden,
      // A retired key must outlive the tokens it signed, and the validators' leeway.
      retireAfterMs: options.ttlMs + JWT_LEEWAY_MS,
      clock: options.clock,
      logger,
    });
  }
  const handlers = createJwtHandlers({
    keys: keys?.receiver,
    trustDomain: options.trustDomain,
    ttlMs: options.ttlMs,
    clock: options.clock,
    logger,
  });
  return { handlers, close: () => reloader?.close(), reload: () => reloader?.reload() ?? Promise.resolve() };
}
