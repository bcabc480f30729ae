/**
 * The fallback for opening a file in a caller's root where `openat2(RESOLVE_IN_ROOT)` is
 * unavailable (before Linux 5.6, or a seccomp filter without it): the path is walked by hand,
 * `lstat` and `readlink` per component, symlinks resolved as if the caller's root were `/`, and
 * the result opened with `O_NOFOLLOW` (docs/decisions.md, "Reading a file in a caller's root").
 */
import { constants, open } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import { AgentError } from '../errors.js';

/** Symlinks followed while resolving one path, as Linux's own limit (ELOOP). */
const MAX_SYMLINKS = 40;

/** The errno name (`ENOENT`) of a node error, if it has one. */
export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Resolves `path` component by component under `root`, following symlinks as if `root` were
 * `/` (what `openat2(RESOLVE_IN_ROOT)` does in the kernel). `..` never climbs above `root`.
 * @returns the host path of the final component, or `undefined` when a component is missing
 *   or is not a directory
 */
async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const seg = pending.shift() as string;
    if (seg === '..') {
      done.pop();
      continue;
    }
    const host = posix.join(root, ...done, seg);
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(host);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    if (info.isSymbolicLink()) {
      links += 1;
      if (links > MAX_SYMLINKS) throw new AgentError('NO_IDENTITY', 'too many symlinks in a path in the caller root');
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter((s) => s !== '' && s !== '.'));
      continue;
    }
    if (pending.length > 0 && !info.isDirectory()) return undefined;
    done.push(seg);
  }
  return posix.join(root, ...done);
}

const openFd = promisify(open);

/**
 * Opens `path` inside the caller's root by walking it ({@link resolveInRoot}), then opening the
 * result with `O_NOFOLLOW`: the fallback where `openat2` is unavailable.
 * @returns the open fd, or `undefined` when a component is missing or not a directory
 */
export async function openWalking(root: string, path: string): Promise<number | undefined> {
  const resolved = await resolveInRoot(root, path);
  if (resolved === undefined) return undefined;
  try {
    // O_NOFOLLOW: the path was resolved above, a symlink here means it changed under us.
    // O_NONBLOCK: opening a FIFO for reading must not wait for a writer.
    return await openFd(resolved, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new AgentError('NO_IDENTITY', 'file in the caller root changed while it was read');
    throw err;
  }
}
