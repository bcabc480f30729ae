/**
 * Readers of a process's `/proc` entries (docs/kubernetes.md), all under one root (`--proc-root`),
 * so tests can point it at a fixture directory while the peer PID stays real.
 *
 * Files inside the caller's own filesystem (`<root>/<pid>/root/<path>`) are hostile input: the
 * workload controls them. Symlinks must resolve relative to the caller's root, because the kernel
 * would resolve an absolute symlink found under `/proc/<pid>/root` against the agent's root — a
 * container could otherwise point its "token" at any file on the host. The kernel does this itself
 * with `openat2(RESOLVE_IN_ROOT)` (openat2.ts), in one call: first in line from the dentry cache
 * alone, else through the thread pool; where `openat2` is unavailable (before Linux 5.6, or a
 * seccomp filter without it) the path is walked by hand, `lstat` and `readlink` per component
 * (root-walk.ts). Either way, only a regular file is read (a FIFO would block the agent forever),
 * and the read is capped: in line when the kernel places the file on a filesystem held in memory
 * (a projected token is on tmpfs), through the thread pool otherwise (file-read.ts).
 */
import { close, closeSync, constants, fstatSync, openSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { posix } from 'node:path';
import { AgentError } from '../errors.js';
import { onMemoryFilesystem, readProcTextSync, readRegularFile, readRegularFileSync } from './file-read.js';
import { type InRootCachedOpen, type InRootOpen, O_PATH, openInRoot, openInRootCached } from './openat2.js';
import { errnoOf, openWalking } from './root-walk.js';

/** Where `/proc` is read from by default. */
export const DEFAULT_PROC_ROOT = '/proc';

/** Default cap on a file read from a caller's root: tokens are a few KiB. */
export const DEFAULT_MAX_ROOT_FILE_BYTES = 64 * 1024;

/** Cap on `stat` and `cgroup`, which are a few hundred bytes. */
const MAX_PROC_FILE_BYTES = 64 * 1024;

/** The process behind a PID exited (its `/proc` directory is gone); code `NO_IDENTITY`. */
export class ProcessGoneError extends AgentError {
  readonly pid: number;

  constructor(pid: number, options?: { cause?: unknown }) {
    super('NO_IDENTITY', 'caller process is gone', options);
    this.pid = pid;
  }
}

/** Reads what attestation needs about one process. */
export interface ProcReader {
  /** The root every path is read under (`/proc` unless configured). */
  readonly procRoot: string;
  /**
   * Process start time: field 22 of `<root>/<pid>/stat` (clock ticks since boot), as a string.
   * @throws ProcessGoneError when the process is gone; AgentError `ATTESTATION_UNAVAILABLE`
   *   for any other IO error or an unparseable stat line
   */
  readStartTime(pid: number): Promise<string>;
  /**
   * The text of `<root>/<pid>/cgroup`.
   * @throws ProcessGoneError when the process is gone; `ATTESTATION_UNAVAILABLE` otherwise
   */
  readCgroup(pid: number): Promise<string>;
  /**
   * Reads `<path>` inside the process's own filesystem (`<root>/<pid>/root/<path>`), resolving
   * symlinks within that root. Returns `undefined` when the file does not exist (or a path
   * component is not a directory).
   * @param path absolute, without `..` segments (else `TypeError`)
   * @throws ProcessGoneError when the process is gone; AgentError `NO_IDENTITY` when the file is
   *   not a regular file or is larger than the cap; `ATTESTATION_UNAVAILABLE` for other IO errors
   */
  readFileInRoot(pid: number, path: string): Promise<string | undefined>;
}

/** Options of {@link createProcReader}. */
export interface ProcReaderOptions {
  /** Directory holding `<pid>/…`; default {@link DEFAULT_PROC_ROOT}. */
  readonly procRoot?: string;
  /** Cap on files read by `readFileInRoot`, in bytes; default {@link DEFAULT_MAX_ROOT_FILE_BYTES}. */
  readonly maxFileBytes?: number;
  /**
   * How `readFileInRoot` opens a path in the caller's root: default {@link openInRoot}
   * (`openat2`), `null` for the `lstat` walk only. When it fails with `ENOSYS` or `EPERM` (no
   * such syscall, or a seccomp filter refusing it) the reader walks from then on.
   */
  readonly openInRoot?: InRootOpen | null;
  /**
   * How `readFileInRoot` first tries to open a path in line, from the kernel's dentry cache alone:
   * default {@link openInRootCached} when `openInRoot` is the default too, else none; `null` for
   * none. When it fails with `EINVAL` (before Linux 5.12), `ENOSYS` or `EPERM`, it is not tried again.
   */
  readonly openInRootCached?: InRootCachedOpen | null;
  /**
   * Told how each file of a caller's root was opened and read, once read: in line (from the dentry
   * cache, on a memory filesystem) or through the thread pool.
   */
  readonly onRootFileRead?: (how: { readonly open: RootFileStep; readonly read: RootFileStep }) => void;
}

/** Where a step of reading a file in a caller's root ran. */
export type RootFileStep = 'inline' | 'thread-pool';

/**
 * Extracts the start time (field 22) from the text of `/proc/<pid>/stat`. The command name
 * (field 2) sits in parentheses and may itself contain spaces and `)`, so fields are counted
 * from the last `)`.
 * @returns the decimal start time, or `undefined` when the line is malformed
 */
export function parseStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") " comes field 3 (state); field 22 is therefore the 20th field of the remainder.
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const startTime = fields[19];
  return startTime !== undefined && /^\d+$/.test(startTime) ? startTime : undefined;
}

/**
 * Checks a path to be read inside a caller's root: absolute, no `.`/`..` segments, no NUL.
 * @throws TypeError naming the path when it is not acceptable
 */
export function assertRootPath(path: string): void {
  if (!path.startsWith('/') || path.includes('\0')) {
    throw new TypeError(`path in the caller's root must be absolute: ${JSON.stringify(path)}`);
  }
  if (path.split('/').some((seg) => seg === '..' || seg === '.')) {
    throw new TypeError(`path in the caller's root must not contain . or .. segments: ${JSON.stringify(path)}`);
  }
}

function assertPid(pid: number): void {
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new TypeError(`pid must be a positive integer: ${pid}`);
}

/**
 * Creates a {@link ProcReader}.
 * @throws TypeError when `maxFileBytes` is not a positive integer
 */
export function createProcReader(options: ProcReaderOptions = {}): ProcReader {
  const procRoot = options.procRoot ?? DEFAULT_PROC_ROOT;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_ROOT_FILE_BYTES;
  if (!Number.isSafeInteger(maxFileBytes) || maxFileBytes <= 0) {
    throw new TypeError(`maxFileBytes must be a positive integer: ${maxFileBytes}`);
  }
  const pidDir = (pid: number): string => posix.join(procRoot, String(pid));
  let inRoot = options.openInRoot === undefined ? openInRoot : options.openInRoot;
  let cachedOpen =
    options.openInRootCached !== undefined ? options.openInRootCached : options.openInRoot === undefined ? openInRootCached : null;

  /** Turns an IO error into the coded error the attestor expects. */
  async function failure(pid: number, err: unknown, what: string): Promise<AgentError> {
    const code = errnoOf(err);
    // ESRCH: the process exited while its /proc entry was being read.
    if (code === 'ESRCH' || ((code === 'ENOENT' || code === 'ENOTDIR') && !(await exists(pidDir(pid))))) {
      return new ProcessGoneError(pid, { cause: err });
    }
    return new AgentError('ATTESTATION_UNAVAILABLE', `could not read ${what} of the caller`, { cause: err });
  }

  /**
   * Reads `<root>/<pid>/<name>` synchronously: procfs answers from memory and never blocks, and
   * a read through the thread pool costs a workload's first SVID about ten times as long (two
   * hops per file on a busy node, measured in docs/performance.md). O_NONBLOCK keeps a FIFO
   * planted in a `--proc-root` from hanging the agent.
   */
  async function readProcFile(pid: number, name: string): Promise<string> {
    assertPid(pid);
    let text: string | undefined;
    try {
      text = readProcTextSync(posix.join(pidDir(pid), name), MAX_PROC_FILE_BYTES);
    } catch (err) {
      throw await failure(pid, err, name);
    }
    if (text === undefined) throw new AgentError('ATTESTATION_UNAVAILABLE', `caller ${name} is larger than ${MAX_PROC_FILE_BYTES} bytes`);
    return text;
  }

  /**
   * Reads `path` in the caller's root wholly in line, when no step can block: the kernel resolves
   * it from its dentry cache alone (`cachedOpen`, an `O_PATH` descriptor: no filesystem `open`),
   * the file is a regular file on a filesystem held in memory ({@link onMemoryFilesystem}), and
   * only then is it opened for reading, through the agent's own `/proc/self/fd` link to the file
   * resolved (nothing is resolved twice). A pod's projected token, on tmpfs and just written by
   * the kubelet, passes; the thread-pool round trip it saves is on the path of every pod's first SVID.
   * @returns the text, or {@link SLOW} when any step says no (not in the cache, another filesystem,
   *   not a regular file, any errno error): the caller then opens and reads through the thread pool
   *   as before, which meets every refusal and error with its own outcome
   * @throws AgentError `NO_IDENTITY` when the file is larger than the cap
   */
  function readInLine(root: string, path: string, mountinfo: string): string | typeof SLOW {
    let dirfd: number;
    try {
      dirfd = openSync(root, O_PATH | constants.O_DIRECTORY);
    } catch {
      return SLOW; // the slow path meets the same error and reports it
    }
    let pathFd: number;
    try {
      pathFd = (cachedOpen as InRootCachedOpen)(dirfd, path);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'EINVAL' || code === 'ENOSYS' || code === 'EPERM') cachedOpen = null;
      return SLOW;
    } finally {
      closeQuietly(dirfd);
    }
    let inMemory = false;
    try {
      inMemory = onMemoryFilesystem(pathFd, mountinfo);
      if (!inMemory || !fstatSync(pathFd).isFile()) return SLOW;
      // Closing a regular file on tmpfs waits for nothing; readRegularFileSync closes it in line.
      return readRegularFileSync(openSync(`${SELF_FD}/${pathFd}`, READ_FLAGS), maxFileBytes);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      return SLOW;
    } finally {
      // An O_PATH descriptor has no file operations, but its close may drop the last reference to
      // its mount: elsewhere than in memory that could run the filesystem's shutdown, so it goes
      // through the thread pool as every other close of the caller's files does.
      if (inMemory) closeQuietly(pathFd);
      else close(pathFd, () => undefined);
    }
  }

  return {
    procRoot,
    async readStartTime(pid) {
      const stat = await readProcFile(pid, 'stat');
      const startTime = parseStartTime(stat);
      if (startTime === undefined) throw new AgentError('ATTESTATION_UNAVAILABLE', 'caller stat line is malformed');
      return startTime;
    },
    readCgroup(pid) {
      return readProcFile(pid, 'cgroup');
    },
    async readFileInRoot(pid, path) {
      assertPid(pid);
      assertRootPath(path);
      const root = posix.join(pidDir(pid), 'root');
      const mountinfo = posix.join(pidDir(pid), 'mountinfo');
      if (cachedOpen && inRoot) {
        const text = readInLine(root, path, mountinfo);
        if (text !== SLOW) {
          options.onRootFileRead?.({ open: 'inline', read: 'inline' });
          return text;
        }
      }
      let fd: number | undefined;
      try {
        fd = inRoot ? await openKernel(root, path, inRoot) : undefined;
        if (fd === unavailable) {
          inRoot = null;
          fd = undefined;
        }
        if (!inRoot) fd = await openWalking(root, path);
      } catch (err) {
        if (err instanceof AgentError) throw err;
        throw await failure(pid, err, 'a file in the root');
      }
      if (fd === undefined) {
        if (!(await exists(pidDir(pid)))) throw new ProcessGoneError(pid);
        return undefined;
      }
      try {
        // The file's filesystem decides: one in memory is read in line, any other through the pool.
        const inline = onMemoryFilesystem(fd, mountinfo);
        const text = inline ? readRegularFileSync(fd, maxFileBytes) : await readRegularFile(fd, maxFileBytes);
        options.onRootFileRead?.({ open: 'thread-pool', read: inline ? 'inline' : 'thread-pool' });
        return text;
      } catch (err) {
        if (err instanceof AgentError) throw err;
        throw await failure(pid, err, 'a file in the root');
      }
    },
  };
}

/** Closes a descriptor of the agent's own whose close cannot fail in any way that matters. */
function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // EBADF or EINTR: nothing is left to do.
  }
}

/** What `readInLine` returns when a file must be opened and read through the thread pool. */
const SLOW: unique symbol = Symbol('slow');

/** The agent's own descriptors as links to their files (procfs), whatever `--proc-root` says. */
const SELF_FD = '/proc/self/fd';

/** Opening a file found in line for reading: as `openat2.ts` opens, less what the check before made moot. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What {@link openKernel} returns when `openat2` cannot be used here at all. */
const unavailable = -1;

/** `openat2` answers `EAGAIN` when it could not rule out a `..` race; the call may be tried again. */
const OPENAT2_TRIES = 3;

/**
 * Opens `path` inside the caller's root with `openat2` (`open`), the root itself held by an
 * `O_PATH` descriptor: opening `/proc/<pid>/root` that way reads nothing of the caller's
 * filesystem (procfs hands over the root the process already holds), so it is done in line.
 * @returns the open fd; `undefined` when a component is missing or not a directory;
 *   {@link unavailable} when the kernel or a seccomp filter has no `openat2`
 * @throws AgentError `NO_IDENTITY` for too many symlinks or a `/proc` magic link on the way;
 *   the errno error for anything else
 */
async function openKernel(root: string, path: string, open: InRootOpen): Promise<number | undefined> {
  let dirfd: number;
  try {
    dirfd = openSync(root, O_PATH | constants.O_DIRECTORY);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  try {
    for (let tries = 1; ; tries++) {
      try {
        return await open(dirfd, path);
      } catch (err) {
        const code = errnoOf(err);
        if (code === 'ENOSYS' || code === 'EPERM') return unavailable;
        if (isMissing(err)) return undefined;
        if (code === 'ELOOP') throw new AgentError('NO_IDENTITY', 'too many symlinks, or a /proc magic link, in a path in the caller root');
        if (code !== 'EAGAIN' || tries >= OPENAT2_TRIES) throw err;
      }
    }
  } finally {
    closeSync(dirfd);
  }
}

const isMissing = (err: unknown): boolean => errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR';

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
