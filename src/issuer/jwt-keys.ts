/**
 * The JWT-SVID signing keys of a running agent or central issuer (issue 4): load `--jwt-key` (never one of the
 * X.509 CA keys), publish it through a value channel, and follow the file so a rotated key signs at once
 * while the retired one stays published until its tokens have expired.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Logger } from '../log.js';
import { LOG_FIELD } from '../log-fields.js';
import { createValueChannel, type Receiver } from '../value-channel.js';
import { createJwtKeySet, type JwtKeySet, loadJwtSigningKey } from './jwt-key.js';
import { type JwtKeyReloader, startJwtKeyReloader } from './jwt-key-reloader.js';
import { JWT_LEEWAY_MS } from './jwt-svid.js';

/** Options of {@link loadJwtKeys}. */
export interface JwtKeysOptions {
  /** `--jwt-key`; `undefined` disables JWT-SVIDs (the JWT methods answer UNIMPLEMENTED). */
  readonly path: string | undefined;
  /** `--jwt-ttl`, ms: a retired key stays published this long (plus the validation leeway). */
  readonly ttlMs: number;
  /** The X.509 issuer and anchor keys in use: the JWT key must be none of them (docs/workload-api.md). */
  readonly forbidden: () => readonly KeyObject[];
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The keys, and the reloader following the key file. */
export interface JwtKeys {
  /** The key set in use; `undefined` without `--jwt-key`. */
  readonly keys: Receiver<JwtKeySet> | undefined;
  /** Stops following the key file; a no-op without `--jwt-key`. */
  close(): void;
  /** Checks the key file now (tests; the file watch and the poll do it otherwise). */
  reload(): Promise<void>;
}

/**
 * Loads the JWT key and starts following its file.
 * @throws AgentError `CREDENTIALS_INVALID` when the key file is unusable (the agent refuses to start)
 */
export async function loadJwtKeys(options: JwtKeysOptions): Promise<JwtKeys> {
  const { logger } = options;
  if (options.path === undefined) {
    logger.warn({}, 'jwt-svids disabled: no --jwt-key configured');
    return { keys: undefined, close: () => undefined, reload: () => Promise.resolve() };
  }
  const key = await loadJwtSigningKey(options.path, { forbidden: options.forbidden() });
  logger.info({ [LOG_FIELD.path]: options.path, kid: key.kid, alg: key.alg }, 'loaded jwt signing key');
  const keys = createValueChannel(createJwtKeySet(key));
  const reloader: JwtKeyReloader = await startJwtKeyReloader({
    path: options.path,
    keys,
    forbidden: options.forbidden,
    // A retired key must outlive the tokens it signed, and the validators' leeway.
    retireAfterMs: options.ttlMs + JWT_LEEWAY_MS,
    clock: options.clock,
    logger,
  });
  return { keys: keys.receiver, close: () => reloader.close(), reload: () => reloader.reload() };
}
