/**
 * Commands the CLI prints for the user to run next (`certs create`, `run --dev`) must work as
 * printed: they start with this program as it was run, and quote what a shell would split.
 */
import { statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative } from 'node:path';

/**
 * How to run this program again: `svid-agent` when it was run by that name (an installed bin,
 * the image's symlink), else `node [node options] <script>`, the script relative to `cwd` when it
 * lies below it.
 * @param script the script the process runs (`process.argv[1]`)
 * @param nodeOptions node's own options it was run with (`process.execArgv`), repeated as given
 */
export function invocation(script: string | undefined, cwd: string, nodeOptions: readonly string[] = []): string {
  if (script === undefined || basename(script) === 'svid-agent') return 'svid-agent';
  return ['node', ...nodeOptions, displayPath(script, cwd)].map(shellQuote).join(' ');
}

/** `path` relative to `cwd` when it lies below it (shorter, and what the user typed), else as is. */
export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}

/** `word` as one POSIX shell word: unchanged when it holds only safe characters, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * What `run --dev` prints once it serves: where, and the command that fetches an SVID from it.
 * When a directory on the way to the socket keeps other users out (a home directory of mode
 * 0750, say), it says so: the unix attestor would name them, but they cannot connect.
 */
export function devServingMessage(socket: string, self: string, cwd: string): string {
  const fetch = `${self} api fetch x509 --socket ${shellQuote(displayPath(socket, cwd))}`;
  const closed = closedAncestor(dirname(socket));
  const note =
    closed === undefined
      ? ''
      : `\nOther users cannot reach the socket: ${closed.dir} is mode 0${closed.mode.toString(8)} (to serve them, give --socket a path they can traverse)`;
  return `svid-agent is serving on ${socket}; fetch an SVID with: ${fetch}${note}\n`;
}

/** The first directory from `/` down to `dir` that others may not traverse (no o+x), if any. */
function closedAncestor(dir: string): { dir: string; mode: number } | undefined {
  const parts = dir.split('/').filter((p) => p !== '');
  for (let i = 0; i <= parts.length; i++) {
    const path = `/${parts.slice(0, i).join('/')}`;
    try {
      const mode = statSync(path).mode & 0o777;
      if ((mode & 0o001) === 0) return { dir: path, mode };
    } catch {
      return undefined;
    }
  }
  return undefined;
}
