import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeError, isAgentError } from '../errors.js';
import {
  CredentialFileAbsentError,
  MAX_CREDENTIAL_FILE_BYTES,
  readCredentialFile,
  readCredentialFileIfPresent,
} from './credential-file.js';

const dir = mkdtempSync(join(tmpdir(), 'svid-agent-credfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function refused(code: 'CREDENTIALS_INVALID' | 'CREDENTIALS_UNREADABLE', message: string) {
  return (err: unknown) => {
    assert.ok(isAgentError(err, code), `expected ${code}, got ${describeError(err)}`);
    assert.equal((err as Error).message, message);
    return true;
  };
}

describe('readCredentialFile', () => {
  it("reads a regular file, also through symlinks (a mounted Secret's ..data links)", async () => {
    writeFileSync(join(dir, 'real.pem'), 'hello');
    mkdirSync(join(dir, '..data'));
    writeFileSync(join(dir, '..data', 'tls.crt'), 'linked');
    symlinkSync('..data/tls.crt', join(dir, 'tls.crt'));
    assert.equal((await readCredentialFile(join(dir, 'real.pem'), 'trust anchors')).toString(), 'hello');
    assert.equal((await readCredentialFile(join(dir, 'tls.crt'), 'issuer certificate')).toString(), 'linked');
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const fifo = join(dir, 'fifo.key');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(
      readCredentialFile(fifo, 'issuer key'),
      refused('CREDENTIALS_INVALID', `issuer key ${fifo} is a fifo, not a regular file`),
    );
  });

  it('refuses /dev/zero and a directory', async () => {
    await assert.rejects(
      readCredentialFile('/dev/zero', 'JWT signing key'),
      refused('CREDENTIALS_INVALID', 'JWT signing key /dev/zero is a character device, not a regular file'),
    );
    await assert.rejects(
      readCredentialFile(dir, 'trust anchors'),
      refused('CREDENTIALS_INVALID', `trust anchors ${dir} is a directory, not a regular file`),
    );
  });

  it('reads up to 1 MiB and refuses one byte more', async () => {
    const exact = join(dir, 'exact.pem');
    const over = join(dir, 'over.pem');
    writeFileSync(exact, Buffer.alloc(MAX_CREDENTIAL_FILE_BYTES, 0x41));
    writeFileSync(over, Buffer.alloc(MAX_CREDENTIAL_FILE_BYTES + 1, 0x41));
    assert.equal((await readCredentialFile(exact, 'trust anchors')).length, MAX_CREDENTIAL_FILE_BYTES);
    await assert.rejects(
      readCredentialFile(over, 'trust anchors'),
      refused('CREDENTIALS_INVALID', `trust anchors ${over} is larger than 1048576 bytes`),
    );
  });

  it('tells absent from broken from cannot-read-now', async () => {
    const missing = join(dir, 'missing.key');
    await assert.rejects(readCredentialFile(missing, 'issuer key'), (err: unknown) => err instanceof CredentialFileAbsentError);
    assert.equal(await readCredentialFileIfPresent(missing, 'issuer key'), undefined);
    symlinkSync('loop', join(dir, 'loop'));
    await assert.rejects(
      readCredentialFile(join(dir, 'loop'), 'issuer key'),
      refused('CREDENTIALS_INVALID', `cannot read issuer key ${join(dir, 'loop')}: ELOOP`),
    );
    for (const code of ['EMFILE', 'ENFILE', 'EACCES', 'EIO']) {
      const failing = async (): Promise<Buffer> => {
        throw Object.assign(new Error(code), { code });
      };
      await assert.rejects(
        readCredentialFileIfPresent('/i/tls.key', 'issuer key', failing),
        refused('CREDENTIALS_UNREADABLE', `cannot read issuer key /i/tls.key now: ${code}`),
      );
    }
  });
});
