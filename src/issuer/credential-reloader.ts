/**
 * Live trust anchors and issuer (SPEC §4, issue 5). Kubernetes updates a mounted Secret or
 * ConfigMap by swapping the `..data` symlink; people outside Kubernetes rewrite files in place.
 * Both directories are watched (inotify through `fs.watch`) and, as a safety net, polled.
 * A change is loaded and verified completely before it is published; a bad one is refused with
 * a log line saying why and the old credentials stay. The watch never dies on an error.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../clock.js';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sink } from '../watch.js';
import { type IssuerCredentials, type TrustAnchors, chainToAnchors, loadIssuer, loadTrustAnchors } from './credentials.js';

export interface CredentialReloaderOptions {
  readonly trustAnchorsPath: string;
  readonly issuerDir: string;
  /** The credentials loaded at start; the reloader publishes replacements. */
  readonly initial: { readonly anchors: TrustAnchors; readonly issuer: IssuerCredentials };
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

export interface CredentialReloader {
  /** Checks the files now (what the watchers and the poll call). Never rejects. */
  reload(): Promise<void>;
  close(): void;
}

/** Fingerprint of the bytes that would be loaded, so unchanged files cost nothing. */
async function fingerprint(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    const bytes = await readFile(path).catch(() => Buffer.from(`missing:${path}`));
    hash.update(path).update('\0').update(bytes).update('\0');
  }
  return hash.digest('hex');
}

const ISSUER_FILES = ['tls.crt', 'tls.key', 'crt.pem', 'key.pem'];

/** Starts watching; resolves once the current files are fingerprinted. */
export async function startCredentialReloader(options: CredentialReloaderOptions): Promise<CredentialReloader> {
  const log = options.logger.child({ subsystem: 'credentials' });
  const issuerPaths = ISSUER_FILES.map((f) => `${options.issuerDir}/${f}`);
  let anchors = options.initial.anchors;
  let issuer = options.initial.issuer;
  let anchorsPrint: string | undefined;
  let issuerPrint: string | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let debounce: NodeJS.Timeout | undefined;
  const watchers = new Map<string, FSWatcher>();

  function checkChain(): void {
    let ok = true;
    try {
      chainToAnchors(issuer.certificate, [], anchors, options.clock.now());
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
      log.error({ path: options.trustAnchorsPath, error: describeError(err) }, 'trust anchors update refused; keeping the current ones');
      options.onReload?.('anchors', 'refused');
      return;
    }
    options.anchorsSink.set(anchors);
    log.info({ path: options.trustAnchorsPath, count: anchors.certificates.length }, 'trust anchors updated');
    options.onReload?.('anchors', 'ok');
    checkChain();
    // A new issuer that failed to chain under the old anchors may chain now.
    issuerPrint = undefined;
  }

  async function reloadIssuer(): Promise<void> {
    const print = await fingerprint(issuerPaths);
    if (print === issuerPrint) return;
    issuerPrint = print;
    let next: IssuerCredentials;
    try {
      next = await loadIssuer(options.issuerDir, anchors, { now: options.clock.now() });
    } catch (err) {
      log.error({ path: options.issuerDir, error: describeError(err) }, 'issuer update refused; keeping the current issuer');
      options.onReload?.('issuer', 'refused');
      return;
    }
    if (next.certificate.raw.equals(issuer.certificate.raw) && next.privateKey.equals(issuer.privateKey)) return;
    issuer = next;
    options.issuerSink.set(issuer);
    log.info({ path: issuer.certificatePath, subject: issuer.certificate.subject, not_after: new Date(issuer.notAfter).toISOString() }, 'issuer updated');
    options.onReload?.('issuer', 'ok');
    options.chainOkSink?.set(true);
    options.onIssuerChanged?.(issuer);
  }

  async function reload(): Promise<void> {
    if (closed) return;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await reloadAnchors();
          await reloadIssuer();
        } catch (err) {
          log.error({ error: describeError(err) }, 'credential reload failed');
        }
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  function schedule(): void {
    clearTimeout(debounce);
    debounce = setTimeout(() => void reload(), options.debounceMs ?? 100);
    debounce.unref();
  }

  /** Watches `dir`; if the watch fails (directory replaced or gone) it is re-made later. */
  function watchDir(dir: string): void {
    if (closed || watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (err) => {
        log.warn({ path: dir, error: describeError(err) }, 'credential watch failed; retrying');
        watcher.close();
        watchers.delete(dir);
        setTimeout(() => watchDir(dir), 1000).unref();
      });
      watchers.set(dir, watcher);
    } catch (err) {
      log.warn({ path: dir, error: describeError(err) }, 'cannot watch credentials directory; retrying');
      setTimeout(() => watchDir(dir), 1000).unref();
    }
  }

  [anchorsPrint, issuerPrint] = await Promise.all([fingerprint([options.trustAnchorsPath]), fingerprint(issuerPaths)]);
  watchDir(options.issuerDir);
  watchDir(dirname(options.trustAnchorsPath));
  const pollMs = options.pollMs ?? 30_000;
  const poll = pollMs > 0 ? setInterval(() => {
    for (const dir of [options.issuerDir, dirname(options.trustAnchorsPath)]) watchDir(dir);
    void reload();
  }, pollMs) : undefined;
  poll?.unref();

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}
