/**
 * JWT signing key rotation (issue 4): when the `--jwt-key` file changes (Secret `..data` swap or
 * a rewrite), the new key signs from then on and the old one stays published in the JWT bundle
 * until every token it signed has expired, so validation never breaks mid-rotation. A bad new
 * file is refused with a log line and the current key stays.
 */
import type { KeyObject } from 'node:crypto';
import { dirname } from 'node:path';
import type { Clock } from '../clock.js';
import { describeError, isAgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Receiver, Sink } from '../value-channel.js';
import { type FileReloader, fingerprintFiles, startFileReloader } from './file-watch.js';
import { createJwtKeySet, type JwtKeySet, loadJwtSigningKey } from './jwt-key.js';

export interface JwtKeyReloaderOptions {
  /** `--jwt-key`. */
  readonly path: string;
  readonly keys: { readonly sink: Sink<JwtKeySet>; readonly receiver: Receiver<JwtKeySet> };
  /** Keys the JWT key must not be (the X.509 issuer's and anchors'), read at each reload. */
  readonly forbidden: () => readonly KeyObject[];
  /** How long a retired key stays published, ms: the JWT-SVID lifetime plus validation leeway. */
  readonly retireAfterMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly debounceMs?: number;
  readonly pollMs?: number;
}

/** Checks the key file now with `reload()`; `close()` stops watching. */
export type JwtKeyReloader = FileReloader;

export async function startJwtKeyReloader(options: JwtKeyReloaderOptions): Promise<JwtKeyReloader> {
  const { keys, clock } = options;
  const log = options.logger.child({ subsystem: 'jwt_keys' });
  /** kid → when it stopped signing (ms). */
  const retiredAt = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let print = await fingerprintFiles([options.path]);

  function prune(): void {
    const now = clock.now();
    const current = keys.receiver.get();
    const kept = current.keys.filter((k) => k.kid === current.signer.kid || (retiredAt.get(k.kid) ?? now) + options.retireAfterMs > now);
    if (kept.length === current.keys.length) return;
    for (const k of current.keys) if (!kept.includes(k)) retiredAt.delete(k.kid);
    keys.sink.set(createJwtKeySet(current.signer, kept.slice(1)));
    log.info({ count: kept.length }, 'retired jwt keys removed from the bundle');
  }

  async function load(): Promise<void> {
    const next = await fingerprintFiles([options.path]);
    if (next === print) return;
    print = next;
    try {
      const key = await loadJwtSigningKey(options.path, { forbidden: options.forbidden() });
      const current = keys.receiver.get();
      if (key.kid === current.signer.kid) return;
      retiredAt.set(current.signer.kid, clock.now());
      keys.sink.set(createJwtKeySet(key, current.keys));
      log.info({ path: options.path, kid: key.kid, retired_kid: current.signer.kid }, 'jwt signing key rotated');
      const timer = setTimeout(() => {
        timers.delete(timer);
        prune();
      }, options.retireAfterMs + 1000);
      timer.unref();
      timers.add(timer);
    } catch (err) {
      // A file that cannot be read now (EMFILE) says nothing about its content: look again next time.
      if (isAgentError(err, 'CREDENTIALS_UNREADABLE')) print = '';
      log.error({ path: options.path, error: describeError(err) }, 'jwt key update refused; keeping the current key');
    }
  }

  return startFileReloader({
    dirs: [dirname(options.path)],
    load,
    logger: log,
    debounceMs: options.debounceMs,
    pollMs: options.pollMs,
    onClose: () => {
      for (const timer of timers) clearTimeout(timer);
    },
  });
}
