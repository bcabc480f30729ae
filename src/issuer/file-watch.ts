/**
 * Watching mounted credentials. Kubernetes updates a mounted Secret or ConfigMap by swapping the
 * `..data` symlink inside the directory; people outside Kubernetes rewrite or rename files. Both
 * show up as events on the directory (inotify through `fs.watch`), which are debounced into one
 * `onChange` call. A poll catches what events can miss, and a watch that fails (directory
 * replaced or gone) is re-made: the watch never dies on an error.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describeError } from '../errors.js';
import type { Logger } from '../log.js';

export interface DirectoryWatchOptions {
  readonly dirs: readonly string[];
  /** Called after events settle, and at every poll; must not throw. */
  readonly onChange: () => void;
  readonly logger: Logger;
  /** Quiet time after an event before `onChange`, ms; default 100. */
  readonly debounceMs?: number;
  /** Poll interval, ms; default 30 s; 0 turns polling off. */
  readonly pollMs?: number;
}

export interface DirectoryWatch {
  close(): void;
}

const RETRY_MS = 1000;

export function watchDirectories(options: DirectoryWatchOptions): DirectoryWatch {
  const { logger } = options;
  const watchers = new Map<string, FSWatcher>();
  let closed = false;
  let debounce: NodeJS.Timeout | undefined;

  function schedule(): void {
    clearTimeout(debounce);
    debounce = setTimeout(options.onChange, options.debounceMs ?? 100);
    debounce.unref();
  }

  function retry(dir: string, err: unknown): void {
    logger.warn({ path: dir, error: describeError(err) }, 'credential watch failed; retrying');
    setTimeout(() => watchDir(dir), RETRY_MS).unref();
  }

  function watchDir(dir: string): void {
    if (closed || watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on('error', (err) => {
        watcher.close();
        watchers.delete(dir);
        retry(dir, err);
      });
      watchers.set(dir, watcher);
    } catch (err) {
      retry(dir, err);
    }
  }

  for (const dir of options.dirs) watchDir(dir);
  const pollMs = options.pollMs ?? 30_000;
  const poll =
    pollMs > 0
      ? setInterval(() => {
          for (const dir of options.dirs) watchDir(dir);
          options.onChange();
        }, pollMs)
      : undefined;
  poll?.unref();

  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** SHA-256 over the paths and bytes that would be loaded, so unchanged files cost nothing. */
export async function fingerprintFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    const bytes = await readFile(path).catch(() => Buffer.from(`missing:${path}`));
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
      options.logger.error({ error: describeError(err) }, 'credential reload failed');
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
