/**
 * The central issuer's WatchBundles stream, followed for as long as the agent runs: the JWT
 * bundle it carries is published (and kept through outages: the last one stands while the issuer
 * is away), and a change of the issuer's fingerprint — an issuer swap — re-issues every identity,
 * spread over minutes. A broken stream is opened again with jittered exponential backoff.
 */
import { status } from '@grpc/grpc-js';
import { describeError } from '../errors.js';
import { parseJwks } from '../issuer/index.js';
import { LOG_FIELD, type Logger } from '../log.js';
import type { Sink } from '../value-channel.js';
import { type BackoffPolicy, backoffDelay, ISSUER_RETRY } from './backoff.js';
import type { JwtBundle } from './jwt-source.js';
import type { BundlesMessage, NodeIssuerClient } from './node-client.js';
import { NodeServiceError } from './node-service-error.js';
import type { Timers } from './timers.js';

/** Statuses that say the issuer refused the agent itself (its token, its account). */
const REFUSED: ReadonlySet<status> = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED]);

/** Options of {@link followIssuerBundles}. */
export interface IssuerBundlesOptions {
  readonly client: Pick<NodeIssuerClient, 'watchBundles'>;
  /** Where the JWT bundle goes; an empty one means the issuer mints no JWT-SVIDs. */
  readonly bundle: Sink<JwtBundle | undefined>;
  /** Called when the issuer's fingerprint changes from one seen before (not for the first one). */
  readonly onIssuerSwap: () => void;
  readonly logger: Logger;
  readonly timers: Timers;
  readonly random: () => number;
  readonly retry?: BackoffPolicy;
}

/** Stops following the stream. */
export interface IssuerBundles {
  close(): void;
}

export function followIssuerBundles(options: IssuerBundlesOptions): IssuerBundles {
  const { client, timers, random } = options;
  const retry = options.retry ?? ISSUER_RETRY;
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'issuer_bundles' });
  let fingerprint: string | undefined;
  let failures = 0;
  let closed = false;
  let timer: unknown;
  let stream: { cancel(): void } | undefined;

  function received(message: BundlesMessage): void {
    failures = 0;
    if (message.jwtBundle.length === 0) options.bundle.set({ keys: [] });
    else {
      try {
        options.bundle.set({ keys: parseJwks(message.jwtBundle.toString('utf8')) });
      } catch (err) {
        log.error({ [LOG_FIELD.error]: describeError(err) }, 'the issuer sent a jwt bundle that does not parse; keeping the last one');
      }
    }
    const previous = fingerprint;
    fingerprint = message.issuerFingerprint;
    if (previous !== undefined && previous !== fingerprint) {
      log.info({ issuer_fingerprint: fingerprint }, 'the central issuer changed its issuer certificate; re-issuing every identity');
      options.onIssuerSwap();
    }
  }

  function open(): void {
    if (closed) return;
    stream = client.watchBundles({
      message: received,
      end(err) {
        stream = undefined;
        if (closed) return;
        if (failures === 0 && err instanceof NodeServiceError && REFUSED.has(err.status)) {
          log.error(
            { [LOG_FIELD.error]: describeError(err) },
            'the central issuer refused this agent; check its token (--agent-token-path) and account',
          );
        }
        const waitMs = backoffDelay(failures++, retry, random);
        // Unreachability is logged once by the reachability tracker; this says what the stream does.
        log.debug(
          { [LOG_FIELD.error]: err === undefined ? 'stream ended' : describeError(err), retry_ms: waitMs },
          'bundle stream ended; reopening',
        );
        timer = timers.setTimeout(open, waitMs);
      },
    });
  }

  open();
  return {
    close() {
      closed = true;
      timers.clearTimeout(timer);
      stream?.cancel();
    },
  };
}
