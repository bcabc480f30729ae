/**
 * Directories named by a flag (`api fetch x509 --write DIR`, `certs create --out DIR`): made
 * before any work is done, and when that is impossible, one line naming the flag and saying what
 * to do instead of a raw `EEXIST`/`EACCES` (exit 2 by the rule in docs/cli.md).
 */
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { fileErrorReason } from '../errors.js';
import { ConfigError } from './exit.js';

/**
 * Creates `dir` and its parents unless it exists, and checks that this process may write in it.
 * @throws ConfigError `<flag>: ...` when `dir` is a file, or cannot be created or written
 */
export async function ensureDirectoryFor(flag: string, dir: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (info !== undefined && !info.isDirectory()) {
    throw new ConfigError([`${flag}: ${dir} is a file, not a directory (name a directory; it is created if missing)`]);
  }
  try {
    if (info === undefined) await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const inTheWay = code === 'EEXIST' || code === 'ENOTDIR';
    const why = inTheWay ? 'a file is in the way' : fileErrorReason(err);
    throw new ConfigError([
      `${flag}: cannot ${info === undefined ? 'create' : 'write in'} ${dir}: ${why} (name a directory you may write to)`,
    ]);
  }
}
