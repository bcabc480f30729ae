/**
 * Writes a directory the way kubelet's AtomicWriter updates a mounted Secret or ConfigMap:
 * the payload lives in a timestamped `..<ts>` directory, `..data` is a symlink to it, and each
 * visible file is a symlink through `..data`. An update writes a new payload directory and swaps
 * `..data` with one rename, so readers never see a half-written set.
 */
import { mkdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let generation = 0;

/** Creates or updates `dir` atomically with `files` (name → content). */
export async function writeAtomically(dir: string, files: Record<string, string>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const payload = `..2026_11_28_00_00_00.${process.pid}_${++generation}`;
  await mkdir(join(dir, payload), { mode: 0o755 });
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, payload, name), content, { mode: name.endsWith('key') ? 0o600 : 0o644 });
  }
  const old = await readlink(join(dir, '..data')).catch(() => undefined);
  await symlink(payload, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    await symlink(join('..data', name), join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  if (old) await rm(join(dir, old), { recursive: true, force: true });
}
