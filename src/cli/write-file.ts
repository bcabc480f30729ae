/**
 * Writing credential files so that a reader never sees half a file and a key is never readable
 * by others, not even for a moment: write a fresh temporary file created with the final mode,
 * then rename it over the target.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `contents` to `path` atomically with exactly `mode` (the umask does not apply).
 * An existing file at `path` is replaced.
 */
export async function writeFileAtomic(path: string, contents: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(tmp, 'wx', mode);
  try {
    try {
      await file.writeFile(contents);
      await file.chmod(mode);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
