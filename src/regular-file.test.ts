import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NotRegularFileError, readRegularFile, readRegularFileSync } from './regular-file.js';

const dir = mkdtempSync(join(tmpdir(), 'svid-agent-regular-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const fifo = join(dir, 'config.fifo');
execFileSync('mkfifo', [fifo]);
writeFileSync(join(dir, 'ten.txt'), '0123456789');
symlinkSync('ten.txt', join(dir, 'link.txt'));

const refusal = (message: string) => (err: unknown) => err instanceof NotRegularFileError && err.message === message;

for (const [name, read] of [
  ['readRegularFile', readRegularFile],
  ['readRegularFileSync', async (path: string, max: number) => readRegularFileSync(path, max)],
] as const) {
  describe(name, () => {
    it('reads a regular file of up to maxBytes, through a symlink too', async () => {
      assert.equal((await read(join(dir, 'ten.txt'), 10)).toString(), '0123456789');
      assert.equal((await read(join(dir, 'link.txt'), 10)).toString(), '0123456789');
    });

    it('refuses one byte more than maxBytes', async () => {
      await assert.rejects(read(join(dir, 'ten.txt'), 9), refusal('is larger than 9 bytes'));
    });

    it('refuses a FIFO at once (no writer needed), /dev/zero and a directory', async () => {
      await assert.rejects(read(fifo, 100), refusal('is a fifo, not a regular file'));
      await assert.rejects(read('/dev/zero', 100), refusal('is a character device, not a regular file'));
      await assert.rejects(read(dir, 100), refusal('is a directory, not a regular file'));
    });

    it('passes an absent file on as the errno error', async () => {
      await assert.rejects(read(join(dir, 'missing'), 100), { code: 'ENOENT' });
    });
  });
}
