/**
 * The socket file and the directory it lives in. Whoever can write to that directory (or to one
 * above it) can rename the agent's socket and listen in its place: clients would then talk to an
 * impostor, and the agent, removing "its" socket on shutdown, would remove the impostor's file.
 * So the directory chain must be writable only by the agent's user (or root), and the socket the
 * agent bound is recognised by its inode, not by its path.
 *
 * SPIRE checks neither: `cmd/spire-agent/cli/run/run_posix.go` (`prepareEndpoints`) creates a
 * missing directory 0755 and `pkg/agent/endpoints/endpoints_posix.go` (`createUDSListener`)
 * removes whatever is at the path before it binds (docs/decisions.md, "The socket directory").
 */
import { lstatSync } from 'node:fs';
import { lstat, mkdir, realpath, unlink } from 'node:fs/promises';
import net from 'node:net';
import { basename, dirname, join, parse, sep } from 'node:path';
import { AgentError } from '../errors.js';

/** Who the agent runs as: the owner its socket directory must have (root is accepted too). */
export interface SocketOwner {
  readonly uid: number;
  readonly gid: number;
}

/** What {@link unsafeDirectoryReason} reads of a directory. */
export interface DirectoryStat {
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

const STICKY = 0o1000;
const GROUP_WRITE = 0o020;
const OTHER_WRITE = 0o002;

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/**
 * Why `dir` is not safe to hold the socket, or `undefined` when it is. Pure.
 *
 * Safe: owned by the agent's user or root; not writable by others; writable by its group only
 * when that group is the agent's own. A directory *above* the socket's may be writable by others
 * when its sticky bit is set (`/tmp`): then only an entry's owner may rename or remove it.
 */
export function unsafeDirectoryReason(dir: string, stat: DirectoryStat, self: SocketOwner, above: boolean): string | undefined {
  const what = above ? `directory ${dir} above the socket` : `socket directory ${dir}`;
  if (stat.uid !== self.uid && stat.uid !== 0) {
    return `${what} is owned by uid ${stat.uid}, not by the agent's user (uid ${self.uid}) or root: its owner could replace the socket`;
  }
  const sticky = above && (stat.mode & STICKY) !== 0;
  if (stat.mode & OTHER_WRITE && !sticky) {
    return `${what} is writable by other users (mode ${octal(stat.mode)}): any of them could replace the socket; remove that write permission (chmod o-w ${dir}) or choose another directory`;
  }
  if (stat.mode & GROUP_WRITE && stat.gid !== self.gid && !sticky) {
    return `${what} is writable by group ${stat.gid} (mode ${octal(stat.mode)}): its members could replace the socket; remove that write permission (chmod g-w ${dir}) or choose another directory`;
  }
  return undefined;
}

/** `/a/b/c` → `['/', '/a', '/a/b', '/a/b/c']`. */
function chain(dir: string): string[] {
  const root = parse(dir).root;
  const parts = dir
    .slice(root.length)
    .split(sep)
    .filter((p) => p !== '');
  return [root, ...parts.map((_, i) => root + parts.slice(0, i + 1).join(sep))];
}

async function checkChain(dir: string, self: SocketOwner): Promise<boolean> {
  let symlinked = false;
  for (const path of chain(dir)) {
    const stat = await lstat(path);
    // A symlink's own mode means nothing; its target is checked through the real path below.
    if (stat.isSymbolicLink()) {
      symlinked = true;
      continue;
    }
    const reason = unsafeDirectoryReason(path, stat, self, path !== dir);
    if (reason) throw new AgentError('CONFIG_INVALID', reason);
  }
  return symlinked;
}

/**
 * Creates the socket's directory when missing (0755) and checks it and every directory above it
 * with {@link unsafeDirectoryReason}, along the path as given and, when it passes through a
 * symlink, along the real path too.
 * @throws AgentError `CONFIG_INVALID` naming the unsafe directory and what to do
 */
export async function prepareSocketDirectory(socketPath: string, self: SocketOwner): Promise<void> {
  const dir = dirname(socketPath);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (await checkChain(dir, self)) await checkChain(await realpath(dir), self);
}

/** The agent's own user, as {@link prepareSocketDirectory} wants it. */
export function currentOwner(): SocketOwner {
  return { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
}

/** Resolves true when something accepts connections on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    const done = (live: boolean) => {
      probe.destroy();
      resolve(live);
    };
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
    probe.setTimeout(1000, () => done(true));
  });
}

/**
 * Checks that `path` is free to bind: absent, or a stale socket (then the agent's socket replaces
 * it); never a live socket or anything that is not a socket.
 * @returns true when a stale socket is there
 * @throws AgentError `CONFIG_INVALID` when the path is held by a live server or is not a socket
 */
export async function checkSocketPathFree(path: string): Promise<boolean> {
  const stat = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!stat) return false;
  if (!stat.isSocket()) throw new AgentError('CONFIG_INVALID', `socket path ${path} exists and is not a socket; refusing to replace it`);
  if (await answers(path))
    throw new AgentError('CONFIG_INVALID', `another process is serving on ${path}; refusing to take over its socket`);
  return true;
}

/**
 * Where the socket is bound before it is renamed into place. libuv removes a Unix socket's bound
 * path when the listener closes, whatever is there by then (`uv__pipe_close`); binding here and
 * renaming makes that path one nobody else uses, so an impostor's file at the real path is never
 * removed by the close.
 */
export function bindingPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.binding`);
}

/** Removes a leftover {@link bindingPath} (an agent killed while binding). */
export async function clearBindingPath(path: string): Promise<void> {
  await unlink(bindingPath(path)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** The socket file the agent bound, recognised by its device and inode. */
export interface BoundSocketFile {
  /** True while `path` is still the socket the agent bound (not removed, not replaced). */
  isOurs(): boolean;
  /** Removes the file, only when it is still ours: an impostor's file is left alone. */
  removeIfOurs(): Promise<boolean>;
}

/** Records the identity of the socket just bound at `path`. */
export async function boundSocketFile(path: string): Promise<BoundSocketFile> {
  const bound = await lstat(path, { bigint: true });
  const isOurs = () => {
    try {
      const now = lstatSync(path, { bigint: true });
      return now.ino === bound.ino && now.dev === bound.dev;
    } catch {
      return false;
    }
  };
  return {
    isOurs,
    async removeIfOurs() {
      if (!isOurs()) return false;
      await unlink(path).catch(() => undefined);
      return true;
    },
  };
}
