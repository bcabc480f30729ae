/**
 * Watching mounted credentials. Kubernetes updates a mounted Secret or ConfigMap by swapping the
 * `..data` symlink inside the directory; people outside Kubernetes rewrite or rename files. Both
 * show up as events on the directory (inotify through `fs.watch`), which are debounced into one
 * `onChange` call. A poll catches what events can miss, and a watch that fails (directory
 * replaced or gone) is re-made: the watch never dies on an error.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { describeError, isAgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { readCredentialFile } from './credential-file.js';

/** Timer functions, injectable so tests drive the debounce, the poll and the retries. */
export interface WatchTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const nodeTimers: WatchTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface DirectoryWatchOptions {
  readonly dirs: readonly string[];
  /** Called after events settle, and at every poll; must not throw. */
  readonly onChange: () => void;
  readonly logger: Logger;
  /** Quiet time after an event before `onChange`, ms; default 100. */
  readonly debounceMs?: number;
  /** Poll interval, ms; default 30 s; 0 turns polling off. */
  readonly pollMs?: number;
  /** Default: Node's timers, unref'd. */
  readonly timers?: WatchTimers;
}

export interface DirectoryWatch {
  close(): void;
}

/** First retry of a failed watch, ms; each further failure doubles it up to {@link MAX_RETRY_MS}. */
export const FIRST_RETRY_MS = 1000;
/** Longest wait between two attempts to re-make a failed watch, ms. */
export const MAX_RETRY_MS = 30_000;

/**
 * Watches `dirs`. A directory that cannot be watched (missing, replaced) has exactly one pending
 * retry at a time, with backoff ({@link FIRST_RETRY_MS} doubling to {@link MAX_RETRY_MS}); the
 * poll does not start more. One warning when a watch fails, one info line when it is back.
 */
export function watchDirectories(options: DirectoryWatchOptions): DirectoryWatch {
  const { logger } = options;
  const timers = options.timers ?? nodeTimers;
  const watchers = new Map<string, FSWatcher>();
  /** Directories whose watch failed: the pending retry and the delay of the next one. */
  const failing = new Map<string, { timer: unknown; nextMs: number }>();
  let closed = false;
  let debounce: unknown;

  function schedule(): void {
    timers.clearTimeout(debounce);
    debounce = timers.setTimeout(options.onChange, options.debounceMs ?? 100);
  }

  function failed(dir: string, err: unknown): void {
    const state = failing.get(dir);
    if (state === undefined) logger.warn({ path: dir, error: describeError(err) }, 'credential watch failed; retrying');
    const delay = state?.nextMs ?? FIRST_RETRY_MS;
    const timer = timers.setTimeout(() => {
      const current = failing.get(dir);
      if (current) current.timer = undefined;
      watchDir(dir);
    }, delay);
    failing.set(dir, { timer, nextMs: Math.min(delay * 2, MAX_RETRY_MS) });
  }

  function watchDir(dir: string): void {
    // One attempt at a time per directory: a pending retry is not doubled by the poll.
    if (closed || watchers.has(dir) || failing.get(dir)?.timer !== undefined) return;
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (err) => {
        watcher.close();
        watchers.delete(dir);
        failed(dir, err);
      });
      watchers.set(dir, watcher);
      if (failing.delete(dir)) logger.info({ path: dir }, 'credential watch restored');
    } catch (err) {
      failed(dir, err);
    }
  }

  for (const dir of options.dirs) watchDir(dir);
  const pollMs = options.pollMs ?? 30_000;
  const poll =
    pollMs > 0
      ? timers.setInterval(() => {
          for (const dir of options.dirs) watchDir(dir);
          options.onChange();
        }, pollMs)
      : undefined;

  return {
    close() {
      closed = true;
      timers.clearTimeout(debounce);
      if (poll !== undefined) timers.clearInterval(poll);
      for (const { timer } of failing.values()) if (timer !== undefined) timers.clearTimeout(timer);
      failing.clear();
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/**
 * SHA-256 over the paths and bytes that would be loaded, so unchanged files cost nothing. A file
 * that is absent or unusable (a FIFO, too large) counts as such, so the load runs and says why.
 * @throws AgentError `CREDENTIALS_UNREADABLE` when a file cannot be read now (EMFILE, EIO, ...):
 *   nothing is known about the files then, and the current credentials stay
 */
export async function fingerprintFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    let bytes: Buffer;
    try {
      bytes = await readCredentialFile(path, 'credential file');
    } catch (err) {
      if (isAgentError(err, 'CREDENTIALS_UNREADABLE')) throw err;
      bytes = Buffer.from(`unusable:${describeError(err)}`);
    }
    hash.update(path).update('\0').update(bytes).update('\0');
  }
  return hash.digest('hex');
}

/** A watch that reloads something from files. */
export interface FileReloader {
  /** Runs the load now (the watch and the poll call it too). Never rejects. */
  reload(): Promise<void>;
  close(): void;
}

export interface FileReloaderOptions {
  /** Directories whose changes trigger a load. */
  readonly dirs: readonly string[];
  /** Loads, verifies and publishes; errors it throws are logged and the watch goes on. */
  readonly load: () => Promise<void>;
  readonly logger: Logger;
  readonly debounceMs?: number;
  readonly pollMs?: number;
  readonly timers?: WatchTimers;
  /** Also run on close (timers of the caller). */
  readonly onClose?: () => void;
}

/**
 * Watches `dirs` and runs `load` after changes, one load at a time: a change during a load runs
 * it once more afterwards, so a burst never runs two loads at once and never misses the last
 * change. Nothing runs after `close()`.
 */
export function startFileReloader(options: FileReloaderOptions): FileReloader {
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const loadOnce = async () => {
    try {
      await options.load();
    } catch (err) {
      if (isAgentError(err, 'CREDENTIALS_UNREADABLE')) {
        // Issue 15: file descriptors exhausted or a passing IO error; nothing says the files changed.
        options.logger.warn({ error: describeError(err) }, 'cannot read credential files now; keeping the current credentials');
      } else {
        options.logger.error({ error: describeError(err) }, 'credential reload failed');
      }
    }
  };
  const reload = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await loadOnce();
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };
  const watch = watchDirectories({
    dirs: options.dirs,
    onChange: () => void reload(),
    logger: options.logger,
    debounceMs: options.debounceMs,
    pollMs: options.pollMs,
    timers: options.timers,
  });
  return {
    reload,
    close() {
      closed = true;
      watch.close();
      options.onClose?.();
    },
  };
}
