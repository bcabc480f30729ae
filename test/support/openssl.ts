/**
 * Runs the `openssl` command line in tests, as an independent judge of what our encoders produce
 * (`openssl verify -x509_strict`, `openssl req -verify`, `openssl x509 -text`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one openssl run printed. */
export interface OpensslResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `openssl ...args` synchronously; never throws for a non-zero exit (check `status`). */
export function openssl(args: readonly string[]): OpensslResult {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Like {@link openssl} but throws, with openssl's stderr, when it exits non-zero. */
export function opensslOk(args: readonly string[]): string {
  const r = openssl(args);
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A temporary directory under `os.tmpdir()` with a helper to write files into it. */
export interface TempDir {
  readonly path: string;
  /** Writes `data` to `name` in the directory and returns the full path. */
  write(name: string, data: string | Uint8Array): Promise<string>;
}

/** Runs `fn` with a fresh temporary directory and removes it afterwards, even on failure. */
export async function withTempDir<T>(fn: (dir: TempDir) => Promise<T>): Promise<T> {
  const path = await mkdtemp(join(tmpdir(), 'svid-agent-test-'));
  try {
    return await fn({
      path,
      async write(name, data) {
        const file = join(path, name);
        await writeFile(file, data);
        return file;
      },
    });
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}
