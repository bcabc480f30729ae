/**
 * `openat2(2)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` (Linux 5.6+), through libc's
 * `syscall` called with koffi: the kernel resolves a whole path inside a caller's root in one
 * call, symlinks and `..` included, and cannot be raced by renames the way a walk of `lstat` and
 * `readlink` can (docs/decisions.md, "Reading a file in a caller's root").
 *
 * {@link openInRoot} runs on the libuv thread pool (koffi's `async`), because resolving a path in a
 * caller's filesystem may block (a FUSE or NFS mount the workload controls).
 * {@link openInRootCached} runs in line, and cannot block: `RESOLVE_CACHED` (Linux 5.12+) makes
 * the kernel resolve from its dentry cache alone, in RCU mode, and answer `EAGAIN` whenever a
 * lookup would need the filesystem; and an `O_PATH` open calls no filesystem's `open`
 * (docs/decisions.md, "Opening a token in line").
 */
import { constants as osConstants } from 'node:os';
import koffi from 'koffi';

/** Opens `path` under the directory `dirfd`, treating it as `/`; resolves to the new fd. */
export type InRootOpen = (dirfd: number, path: string) => Promise<number>;

/** `openat2` has one number on every architecture (syscalls added after 5.1 share one table). */
const SYS_OPENAT2 = 437;
const RESOLVE_NO_MAGICLINKS = 0x02;
const RESOLVE_IN_ROOT = 0x10;
const RESOLVE_CACHED = 0x20;
/** Resolved as if `dirfd` were `/`, `/proc` magic links refused: every open here. */
const IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
/** `sizeof(struct open_how)`: flags, mode, resolve, each a u64. */
const OPEN_HOW_SIZE = 24;
/** Linux's `O_CLOEXEC` (02000000 octal, x86_64 and arm64 alike); node's `fs.constants` has no entry. */
const O_CLOEXEC = 0o2000000;
/** Linux's `O_PATH` (010000000 octal, x86_64 and arm64 alike): a handle on a path, no read permission needed. */
export const O_PATH = 0o10000000;

/**
 * O_NONBLOCK: opening a FIFO must not wait for a writer. O_NOCTTY: a terminal never becomes the
 * agent's controlling terminal.
 */
const READ_FLAGS = 0 /* O_RDONLY */ | 0o4000 /* O_NONBLOCK */ | 0o400 /* O_NOCTTY */ | O_CLOEXEC;

interface OpenHow {
  flags: number;
  mode: number;
  resolve: number;
}

type SyscallOpenat2 = {
  (nr: number, dirfd: number, path: string, how: OpenHow, size: number): number | bigint;
  async(nr: number, dirfd: number, path: string, how: OpenHow, size: number, done: (err: unknown, rc: number | bigint) => void): void;
};

let bound: SyscallOpenat2 | undefined;

function bind(): SyscallOpenat2 {
  if (bound) return bound;
  const libc = koffi.load('libc.so.6');
  koffi.struct('svid_open_how', { flags: 'uint64', mode: 'uint64', resolve: 'uint64' });
  // glibc's syscall() is variadic, and koffi calls variadic functions synchronously only; its
  // body only moves integer registers (sysdeps/unix/sysv/linux/*/syscall.S), so a fixed
  // prototype of five integers and pointers calls it the same way.
  bound = libc.func(
    'long syscall(long nr, int dirfd, const char *path, const svid_open_how *how, size_t size)',
  ) as unknown as SyscallOpenat2;
  return bound;
}

/**
 * errno numbers by name. Some numbers have two names (11: `EAGAIN` and `EWOULDBLOCK`; 95:
 * `ENOTSUP` and `EOPNOTSUPP`); the first listed is kept, which is the one node's own fs errors use.
 */
/**
 * The bound `syscall`.
 * @throws an `ENOSYS`-coded error when there is no glibc to call: as unavailable as an old kernel
 */
function syscall(): SyscallOpenat2 {
  try {
    return bind();
  } catch (err) {
    throw Object.assign(new Error('openat2 cannot be called here', { cause: err }), { code: 'ENOSYS' });
  }
}

const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(osConstants.errno)) if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

/** An `Error` shaped like node's own fs errors: `code` is the errno's name (`ENOENT`). */
function errnoError(errno: number): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  const err: NodeJS.ErrnoException = new Error(`${code}: openat2 failed`);
  err.code = code;
  err.errno = -errno;
  err.syscall = 'openat2';
  return err;
}

/**
 * `openat2(dirfd, path, { O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, RESOLVE_IN_ROOT |
 * RESOLVE_NO_MAGICLINKS })` on the thread pool. Symlinks, absolute or relative, resolve as if
 * `dirfd` were `/`; `..` stops at it; a `/proc` magic link fails with `ELOOP`.
 * Rejects with an errno-coded error (`ENOENT`, `ELOOP`, `EAGAIN` when the kernel could not rule
 * out a `..` race, `ENOSYS` before Linux 5.6 or under a seccomp filter that lacks it, …).
 */
export const openInRoot: InRootOpen = (dirfd, path) =>
  new Promise((resolve, reject) => {
    let call: SyscallOpenat2;
    try {
      call = syscall();
    } catch (err) {
      reject(err);
      return;
    }
    const how: OpenHow = { flags: READ_FLAGS, mode: 0, resolve: IN_ROOT };
    call.async(SYS_OPENAT2, dirfd, path, how, OPEN_HOW_SIZE, (err, rc) => {
      if (err) return reject(err);
      const fd = Number(rc);
      // koffi restores the call's errno while this callback runs.
      if (fd < 0) return reject(errnoError(koffi.errno()));
      resolve(fd);
    });
  });

/** Opens `path` under the directory `dirfd`, treating it as `/`, in line; returns an `O_PATH` fd. */
export type InRootCachedOpen = (dirfd: number, path: string) => number;

/** `O_PATH | O_CLOEXEC`: a handle on the file, no filesystem `open` called. */
const PATH_FLAGS = O_PATH | O_CLOEXEC;

/**
 * `openat2(dirfd, path, { O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_CACHED })` in line: resolved as {@link openInRoot} resolves, but from the kernel's
 * dentry cache alone, so it never waits for a filesystem. The descriptor only names the file: read
 * it by opening `/proc/self/fd/<fd>`, after deciding that opening it cannot block either.
 * @throws an errno-coded error: `EAGAIN` when a lookup needed the filesystem (or a `..` race could
 *   not be ruled out), `EINVAL` before Linux 5.12 (no `RESOLVE_CACHED`), `ENOSYS`/`EPERM` as
 *   {@link openInRoot}, `ELOOP`, `ENOENT`, …
 */
export const openInRootCached: InRootCachedOpen = (dirfd, path) => {
  const call = syscall();
  const fd = Number(call(SYS_OPENAT2, dirfd, path, { flags: PATH_FLAGS, mode: 0, resolve: IN_ROOT | RESOLVE_CACHED }, OPEN_HOW_SIZE));
  if (fd < 0) throw errnoError(koffi.errno());
  return fd;
};
