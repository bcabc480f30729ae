/**
 * Live trust anchors and issuer (docs/linkerd-identity.md, issue 5); the anchors alone for an agent of the central
 * issuer, which holds no issuer. Both directories are watched
 * (`file-watch.ts`: `..data` swaps, plain rewrites, a poll). A change is loaded and verified
 * completely before it is published; a bad one is refused with a log line saying why and the
 * old credentials stay.
 */
import { X509Certificate } from 'node:crypto';
import { dirname } from 'node:path';
import type { Clock } from '../clock.js';
import { describeError, isAgentError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sink } from '../value-channel.js';
import { type TrustAnchors, warnSkippedAnchors } from './anchor-bundle.js';
import { chainToAnchors, type IssuerCredentials, loadIssuer, loadTrustAnchors } from './credentials.js';
import { type FileReloader, fingerprintFiles as fingerprint, startFileReloader } from './file-watch.js';

export interface CredentialReloaderOptions {
  readonly trustAnchorsPath: string;
  /** `undefined`: follow the anchors only (`initial.issuer` must be `undefined` too). */
  readonly issuerDir: string | undefined;
  /** The credentials loaded at start; the reloader publishes replacements. */
  readonly initial: { readonly anchors: TrustAnchors; readonly issuer: IssuerCredentials | undefined };
  readonly anchorsSink: Sink<TrustAnchors>;
  readonly issuerSink: Sink<IssuerCredentials | undefined>;
  /** Whether the issuer in use chains to the anchors in use; false is a loud problem. */
  readonly chainOkSink?: Sink<boolean>;
  /** Called after a new issuer has been published (the agent re-issues every identity). */
  readonly onIssuerChanged?: (issuer: IssuerCredentials) => void;
  /** Called after every reload attempt that found a change: `ok` or the refusal reason. */
  readonly onReload?: (what: 'anchors' | 'issuer', result: 'ok' | 'refused') => void;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Quiet time after a file event before reloading, ms; default 100. */
  readonly debounceMs?: number;
  /** Poll interval, ms; default 30 s. 0 turns polling off. */
  readonly pollMs?: number;
}

/** Checks the files now with `reload()` (what the watch and the poll call); `close()` stops. */
export type CredentialReloader = FileReloader;

const ISSUER_FILES = ['tls.crt', 'tls.key', 'crt.pem', 'key.pem'];

/** Starts watching; resolves once the current files are fingerprinted. */
export async function startCredentialReloader(options: CredentialReloaderOptions): Promise<CredentialReloader> {
  const log = options.logger.child({ subsystem: 'credentials' });
  const issuerDir = options.issuerDir;
  const issuerPaths = issuerDir === undefined ? [] : ISSUER_FILES.map((f) => `${issuerDir}/${f}`);
  let anchors = options.initial.anchors;
  let issuer = options.initial.issuer;
  let anchorsPrint: string | undefined;
  let issuerPrint: string | undefined;

  function checkChain(): void {
    if (issuer === undefined) return;
    let ok = true;
    try {
      // The rest of the issuer's file: an issuer under a further intermediate chains through it.
      const intermediates = issuer.chainDer.slice(1).map((der) => new X509Certificate(der));
      chainToAnchors(issuer.certificate, intermediates, anchors, options.clock.now());
    } catch (err) {
      ok = false;
      log.error({ error: describeError(err) }, 'issuer no longer chains to the trust anchors');
    }
    options.chainOkSink?.set(ok);
  }

  async function reloadAnchors(): Promise<void> {
    const print = await fingerprint([options.trustAnchorsPath]);
    if (print === anchorsPrint) return;
    anchorsPrint = print;
    try {
      anchors = await loadTrustAnchors(options.trustAnchorsPath, { now: options.clock.now() });
    } catch (err) {
      // A file that cannot be read now (EMFILE) says nothing about its content: look again next time.
      if (isAgentError(err, 'CREDENTIALS_UNREADABLE')) anchorsPrint = undefined;
      log.error({ path: options.trustAnchorsPath, error: describeError(err) }, 'trust anchors update refused; keeping the current ones');
      options.onReload?.('anchors', 'refused');
      return;
    }
    warnSkippedAnchors(log, options.trustAnchorsPath, anchors);
    options.anchorsSink.set(anchors);
    log.info({ path: options.trustAnchorsPath, count: anchors.certificates.length }, 'trust anchors updated');
    options.onReload?.('anchors', 'ok');
    checkChain();
    // A new issuer that failed to chain under the old anchors may chain now.
    issuerPrint = undefined;
  }

  async function reloadIssuer(): Promise<void> {
    if (issuerDir === undefined) return;
    const print = await fingerprint(issuerPaths);
    if (print === issuerPrint) return;
    issuerPrint = print;
    let next: IssuerCredentials;
    try {
      next = await loadIssuer(issuerDir, anchors, { now: options.clock.now() });
    } catch (err) {
      if (isAgentError(err, 'CREDENTIALS_UNREADABLE')) issuerPrint = undefined;
      log.error({ path: issuerDir, error: describeError(err) }, 'issuer update refused; keeping the current issuer');
      options.onReload?.('issuer', 'refused');
      return;
    }
    if (issuer && next.certificate.raw.equals(issuer.certificate.raw) && next.privateKey.equals(issuer.privateKey)) return;
    issuer = next;
    options.issuerSink.set(issuer);
    log.info(
      { path: issuer.certificatePath, subject: issuer.certificate.subject, not_after: new Date(issuer.notAfter).toISOString() },
      'issuer updated',
    );
    options.onReload?.('issuer', 'ok');
    options.chainOkSink?.set(true);
    options.onIssuerChanged?.(issuer);
  }

  [anchorsPrint, issuerPrint] = await Promise.all([fingerprint([options.trustAnchorsPath]), fingerprint(issuerPaths)]);
  return startFileReloader({
    dirs: [...(issuerDir === undefined ? [] : [issuerDir]), dirname(options.trustAnchorsPath)],
    load: async () => {
      await reloadAnchors();
      await reloadIssuer();
    },
    logger: log,
    debounceMs: options.debounceMs,
    pollMs: options.pollMs,
  });
}
