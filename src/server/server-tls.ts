/**
 * The issuer's own TLS certificate over time: issued at start from the issuer in use, renewed at
 * 70 % of its lifetime and at once after an issuer swap, each new one handed to the listener.
 * A failure to renew is logged and retried; the old certificate serves meanwhile.
 */
import type { Clock } from '../clock.js';
import { AgentError, describeError } from '../errors.js';
import { type IssuerCredentials, issueServerCertificate, refreshIn, type ServerCertificate } from '../issuer/index.js';
import { LOG_FIELD, type Logger } from '../log.js';
import type { Receiver } from '../value-channel.js';

/** Retry after a failed renewal, and the shortest wait between renewals, ms. */
const RETRY_MS = 10_000;
/** Longest wait Node.js timers hold (2^31-1 ms, about 24.8 days) stays clear of. */
const MAX_WAIT_MS = 24 * 86_400_000;

/** Options of {@link startServerTls}. */
export interface ServerTlsOptions {
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  /** `--server-name`. */
  readonly serverName: string;
  /** The SPIFFE ID of the account the server name stands for, if any. */
  readonly spiffeId: string | undefined;
  readonly clock: Clock;
  /** `--svid-ttl`, ms. */
  readonly lifetimeMs: number;
  /** `--clock-skew`, ms. */
  readonly clockSkewMs: number;
  /** Receives every new certificate (the listener's `setCertificate`). */
  readonly onCertificate: (certificate: ServerCertificate) => void;
  readonly logger: Logger;
}

/** The certificate in use, and how to stop renewing it. */
export interface ServerTls {
  current(): ServerCertificate;
  /** Issues a new certificate now (tests; the timer and issuer swaps do it otherwise). */
  renew(): void;
  close(): void;
}

/**
 * Issues the first certificate and starts renewing.
 * @throws AgentError `ISSUER_NOT_READY` with no issuer loaded, `SIGNING_FAILED` when it cannot sign
 */
export function startServerTls(options: ServerTlsOptions): ServerTls {
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'server_tls' });
  let timer: NodeJS.Timeout | undefined;

  function issue(): ServerCertificate {
    const issuer = options.issuer.get();
    if (!issuer) throw new AgentError('ISSUER_NOT_READY', 'cert issuer not ready yet');
    return issueServerCertificate({
      issuer,
      serverName: options.serverName,
      spiffeId: options.spiffeId,
      now: options.clock.now(),
      lifetimeMs: options.lifetimeMs,
      clockSkewMs: options.clockSkewMs,
    });
  }

  function schedule(waitMs: number): void {
    clearTimeout(timer);
    timer = setTimeout(renew, Math.min(waitMs, MAX_WAIT_MS));
    timer.unref();
  }

  let certificate = issue();

  function renew(): void {
    try {
      certificate = issue();
    } catch (err) {
      log.error({ [LOG_FIELD.error]: describeError(err) }, 'server certificate renewal failed; the current one serves meanwhile');
      schedule(RETRY_MS);
      return;
    }
    options.onCertificate(certificate);
    log.info({ [LOG_FIELD.notAfter]: new Date(certificate.notAfter).toISOString() }, 'server certificate renewed');
    schedule(refreshIn(options.clock.now(), certificate.notAfter, { minRefreshMs: RETRY_MS, maxRefreshMs: MAX_WAIT_MS }));
  }

  const stop = options.issuer.subscribe(() => renew());
  schedule(refreshIn(options.clock.now(), certificate.notAfter, { minRefreshMs: RETRY_MS, maxRefreshMs: MAX_WAIT_MS }));
  return {
    current: () => certificate,
    renew,
    close() {
      stop();
      clearTimeout(timer);
    },
  };
}
