import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { createProcFixture, type ProcFixture } from '../../test/support/proc-fixture.js';
import { isAgentError } from '../errors.js';
import { type InRootCachedOpen, type InRootOpen, O_PATH, openInRoot, openInRootCached } from './openat2.js';
import { createProcReader, ProcessGoneError, parseStartTime } from './proc.js';

const PID = process.pid;

/** This mount namespace's `mountinfo` with every mount's filesystem type replaced by `type`. */
async function mountinfoOfType(type: string): Promise<string> {
  const real = await readFile('/proc/self/mountinfo', 'utf8');
  return real.replace(/ - \S+ /g, ` - ${type} `);
}
const TOKEN_PATH = '/var/run/secrets/tokens/linkerd-identity-token';

describe('parseStartTime', () => {
  test('reads field 22, counting after the last parenthesis', () => {
    const rest = 'S 1 2 3 0 -1 4194304 101 0 0 0 0 0 0 0 20 0 1 0 50420 3133440 387';
    assert.equal(parseStartTime(`4573 (cat) ${rest}`), '50420');
    assert.equal(parseStartTime(`4573 (a) b) (c d) ${rest}`), '50420');
    assert.equal(parseStartTime(`4573 () ${rest}\n`), '50420');
  });

  test('malformed lines give undefined', () => {
    assert.equal(parseStartTime(''), undefined);
    assert.equal(parseStartTime('4573 cat S 1 2'), undefined);
    assert.equal(parseStartTime('4573 (cat) S 1 2 3'), undefined);
  });
});

describe('the real /proc', () => {
  test('start time of this process', async () => {
    const want = parseStartTime(await readFile('/proc/self/stat', 'utf8'));
    assert.equal(await createProcReader().readStartTime(PID), want);
  });

  test('a file in this process root', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proc-real-'));
    try {
      await writeFile(join(dir, 'token'), 'abc\n');
      assert.equal(await createProcReader().readFileInRoot(PID, join(dir, 'token')), 'abc\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a /proc magic link on the way is refused by openat2, and followed by its text in the walk', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'proc-real-'));
    try {
      await writeFile(join(dir, 'token'), 'abc\n');
      const throughMagic = join('/proc/self/root', dir, 'token');
      await assert.rejects(createProcReader().readFileInRoot(PID, throughMagic), (err: unknown) => isAgentError(err, 'NO_IDENTITY'));
      assert.equal(await createProcReader({ openInRoot: null }).readFileInRoot(PID, throughMagic), 'abc\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('an exited process is gone', async () => {
    const out = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    await assert.rejects(
      createProcReader().readCgroup(Number(out)),
      (err: unknown) => err instanceof ProcessGoneError && err.code === 'NO_IDENTITY',
    );
  });
});

describe('through a fixture root', () => {
  let fixture: ProcFixture;
  let outside: string;
  before(async () => {
    fixture = await createProcFixture();
    outside = await mkdtemp(join(tmpdir(), 'proc-outside-'));
  });
  after(async () => {
    await fixture.cleanup();
    await rm(outside, { recursive: true, force: true });
  });

  test('start time is the real one unless overridden', async () => {
    const reader = createProcReader({ procRoot: fixture.root });
    await fixture.addProcess(PID);
    assert.equal(await reader.readStartTime(PID), parseStartTime(await readFile('/proc/self/stat', 'utf8')));
    await fixture.setStartTime(PID, '123456789');
    assert.equal(await reader.readStartTime(PID), '123456789');
  });

  test('cgroup text, short or longer than the first read (cgroup v1 lists many controllers)', async () => {
    await fixture.addProcess(PID, { cgroup: '0::/x\n' });
    assert.equal(await createProcReader({ procRoot: fixture.root }).readCgroup(PID), '0::/x\n');
    const long = Array.from({ length: 200 }, (_, i) => `${i}:controller-${i}:/kubepods/pod-é/${i}\n`).join('');
    await fixture.setCgroup(PID, long);
    assert.equal(await createProcReader({ procRoot: fixture.root }).readCgroup(PID), long);
  });

  test('a missing pid directory means the process is gone', async () => {
    const reader = createProcReader({ procRoot: fixture.root });
    await fixture.removeProcess(PID);
    for (const read of [() => reader.readStartTime(PID), () => reader.readCgroup(PID), () => reader.readFileInRoot(PID, TOKEN_PATH)]) {
      await assert.rejects(read(), ProcessGoneError);
    }
  });

  test('other IO errors and bad stat lines are ATTESTATION_UNAVAILABLE', async () => {
    const reader = createProcReader({ procRoot: fixture.root });
    await fixture.addProcess(PID);
    await rm(join(fixture.root, String(PID), 'cgroup'));
    await mkdir(join(fixture.root, String(PID), 'cgroup'));
    await assert.rejects(reader.readCgroup(PID), (err: unknown) => isAgentError(err, 'ATTESTATION_UNAVAILABLE'));
    await writeFile(join(fixture.root, String(PID), 'stat'), 'garbage');
    await assert.rejects(reader.readStartTime(PID), (err: unknown) => isAgentError(err, 'ATTESTATION_UNAVAILABLE'));
  });

  test('bad pids and paths are caller errors', async () => {
    const reader = createProcReader({ procRoot: fixture.root });
    await assert.rejects(reader.readCgroup(0), TypeError);
    await assert.rejects(reader.readFileInRoot(PID, 'relative/token'), TypeError);
    await assert.rejects(reader.readFileInRoot(PID, '/var/../etc/passwd'), TypeError);
  });

  // Every case six ways: opened by openat2 from the dentry cache in line, by openat2 through the
  // thread pool, or by the lstat walk (where openat2 is unavailable); and read in line (the
  // caller's mountinfo places the file on tmpfs) or through the thread pool (on ext4). A file
  // opened in line is read in line: on ext4 it is opened again through the pool. The mount types
  // are the test's; the mount IDs are the kernel's.
  for (const [way, open, cached] of [
    ['openat2 from the dentry cache', openInRoot, openInRootCached],
    ['openat2', openInRoot, null],
    ['the lstat walk', null, null],
  ] as const)
    for (const [mode, filesystem] of [
      ['inline', 'tmpfs'],
      ['thread-pool', 'ext4'],
    ] as const) {
      describe(`readFileInRoot through ${way}, read ${mode}`, () => {
        const opened = cached && mode === 'inline' ? 'inline' : 'thread-pool';
        const reads: string[] = [];
        const reader = (maxFileBytes = 1024): ReturnType<typeof createProcReader> =>
          createProcReader({
            procRoot: fixture.root,
            maxFileBytes,
            openInRoot: open,
            openInRootCached: cached,
            onRootFileRead: (how) => reads.push(`opened ${how.open}, read ${how.read}`),
          });
        const rootOf = (): string => join(fixture.root, String(PID), 'root');
        const addProcess = async (process: Parameters<ProcFixture['addProcess']>[1] = {}) =>
          fixture.addProcess(PID, { ...process, mountinfo: await mountinfoOfType(filesystem) });
        const expected = `opened ${opened}, read ${mode}`;
        afterEach(() => {
          // An open from the dentry cache may say EAGAIN (a name not yet looked up, a rename
          // anywhere during a walk through ..): the file is then opened through the pool.
          const fallback = 'opened thread-pool, read inline';
          assert.ok(
            reads.every((how) => how === expected || (opened === 'inline' && how === fallback)),
            `every file ${expected}: ${reads.join('; ')}`,
          );
          reads.length = 0;
        });

        test('reads a file, and undefined when it is missing', async () => {
          await addProcess({ files: { [TOKEN_PATH]: 'jwt\n' } });
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'jwt\n');
          reads.length = 0;
          // Read once already, every name on the way is in the dentry cache.
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'jwt\n');
          assert.deepEqual(reads, [expected]);
          assert.equal(await reader().readFileInRoot(PID, '/var/run/secrets/tokens/other'), undefined);
          assert.equal(await reader().readFileInRoot(PID, `${TOKEN_PATH}/below-a-file`), undefined);
        });

        test('follows the projected-volume layout (relative ..data symlinks)', async () => {
          await addProcess();
          const dir = join(rootOf(), 'var/run/secrets/tokens');
          await mkdir(join(dir, '..2025_01_01_00_00_00.123'), { recursive: true });
          await writeFile(join(dir, '..2025_01_01_00_00_00.123', 'linkerd-identity-token'), 'projected');
          await symlink('..2025_01_01_00_00_00.123', join(dir, '..data'));
          await symlink('..data/linkerd-identity-token', join(dir, 'linkerd-identity-token'));
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'projected');
        });

        test('absolute and climbing symlinks stay inside the caller root', async () => {
          await addProcess({ files: { '/inside': 'inside' } });
          await writeFile(join(outside, 'host-secret'), 'host');
          const dir = join(rootOf(), 'var/run/secrets/tokens');
          await mkdir(dir, { recursive: true });
          await symlink(join(outside, 'host-secret'), join(dir, 'linkerd-identity-token'));
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), undefined, 'an absolute link resolves in the caller root');
          await rm(join(dir, 'linkerd-identity-token'));
          await symlink('../../../../../../../../../../../inside', join(dir, 'linkerd-identity-token'));
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'inside', '.. stops at the caller root');
          await rm(join(dir, 'linkerd-identity-token'));
          await symlink('/inside', join(dir, 'linkerd-identity-token'));
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'inside');
        });

        test('refuses loops, FIFOs, directories and oversized files', async () => {
          await addProcess();
          const dir = join(rootOf(), 'var/run/secrets/tokens');
          await mkdir(dir, { recursive: true });
          const token = join(dir, 'linkerd-identity-token');
          const refused = (err: unknown): boolean => isAgentError(err, 'NO_IDENTITY') && !(err instanceof ProcessGoneError);

          await symlink('linkerd-identity-token', token);
          await assert.rejects(reader().readFileInRoot(PID, TOKEN_PATH), refused, 'symlink loop');
          await rm(token);

          execFileSync('mkfifo', [token]);
          await assert.rejects(reader().readFileInRoot(PID, TOKEN_PATH), refused, 'a FIFO must not block the agent');
          await rm(token);

          await mkdir(token);
          await assert.rejects(reader().readFileInRoot(PID, TOKEN_PATH), refused, 'directory');
          await rm(token, { recursive: true });

          await writeFile(token, 'x'.repeat(1025));
          await assert.rejects(reader().readFileInRoot(PID, TOKEN_PATH), refused, 'over the cap');
          await writeFile(token, 'x'.repeat(1024));
          assert.equal((await reader().readFileInRoot(PID, TOKEN_PATH))?.length, 1024);
        });

        test('a directory symlink on the way, absolute or climbing, resolves inside the caller root', async () => {
          await addProcess({ files: { '/elsewhere/tokens/linkerd-identity-token': 'moved' } });
          await mkdir(join(outside, 'tokens'), { recursive: true });
          await writeFile(join(outside, 'tokens', 'linkerd-identity-token'), 'host');
          await mkdir(join(rootOf(), 'var/run/secrets'), { recursive: true });
          const link = join(rootOf(), 'var/run/secrets/tokens');
          await symlink(outside, link);
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), undefined, 'the host directory is not reached');
          await rm(link);
          await symlink('/elsewhere/tokens', link);
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'moved');
          await rm(link);
          await symlink('../../../../../../elsewhere/tokens', link);
          assert.equal(await reader().readFileInRoot(PID, TOKEN_PATH), 'moved');
        });

        test('a file longer than the first read is read whole, up to the cap', async () => {
          const long = 'j'.repeat(5000);
          await addProcess({ files: { [TOKEN_PATH]: long } });
          assert.equal(await reader(64 * 1024).readFileInRoot(PID, TOKEN_PATH), long);
          assert.equal(await reader(5000).readFileInRoot(PID, TOKEN_PATH), long);
          await assert.rejects(reader(4999).readFileInRoot(PID, TOKEN_PATH), (err: unknown) => isAgentError(err, 'NO_IDENTITY'));
        });
      });
    }

  describe('readFileInRoot when openat2 is unavailable or retried', () => {
    const failing = (code: string, times = Number.POSITIVE_INFINITY) => {
      const calls = { count: 0 };
      const open: InRootOpen = (dirfd, path) => {
        calls.count += 1;
        if (calls.count > times) return openInRoot(dirfd, path);
        return Promise.reject(Object.assign(new Error(code), { code }));
      };
      return { calls, reader: createProcReader({ procRoot: fixture.root, openInRoot: open }) };
    };

    for (const code of ['ENOSYS', 'EPERM']) {
      test(`${code}: the reader walks, from then on`, async () => {
        await fixture.addProcess(PID, { files: { [TOKEN_PATH]: 'jwt' } });
        const { calls, reader } = failing(code);
        assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
        assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
        assert.equal(calls.count, 1);
      });
    }

    test('EAGAIN (a possible .. race) is tried again, then ATTESTATION_UNAVAILABLE', async () => {
      await fixture.addProcess(PID, { files: { [TOKEN_PATH]: 'jwt' } });
      assert.equal(await failing('EAGAIN', 2).reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
      await assert.rejects(failing('EAGAIN').reader.readFileInRoot(PID, TOKEN_PATH), (err: unknown) =>
        isAgentError(err, 'ATTESTATION_UNAVAILABLE'),
      );
    });

    test('other errors are ATTESTATION_UNAVAILABLE, and the reader keeps using openat2', async () => {
      await fixture.addProcess(PID, { files: { [TOKEN_PATH]: 'jwt' } });
      const { calls, reader } = failing('EIO', 1);
      await assert.rejects(reader.readFileInRoot(PID, TOKEN_PATH), (err: unknown) => isAgentError(err, 'ATTESTATION_UNAVAILABLE'));
      assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
      assert.equal(calls.count, 2);
    });
  });

  describe('readFileInRoot when the open from the dentry cache says no', () => {
    /** A reader on tmpfs whose in-line open fails with `code` (after `times` calls into the real one); how it opened each file. */
    const failingCached = async (code: string, times = 0) => {
      await fixture.addProcess(PID, { files: { [TOKEN_PATH]: 'jwt' }, mountinfo: await mountinfoOfType('tmpfs') });
      const calls = { count: 0 };
      const opened: string[] = [];
      const cached: InRootCachedOpen = (dirfd, path) => {
        calls.count += 1;
        if (calls.count <= times) return openInRootCached(dirfd, path);
        throw Object.assign(new Error(code), { code });
      };
      const reader = createProcReader({
        procRoot: fixture.root,
        openInRoot,
        openInRootCached: cached,
        onRootFileRead: (how) => opened.push(how.open),
      });
      return { calls, opened, reader };
    };

    test('EAGAIN (not in the cache, or a possible .. race): opened through the pool, and tried in line next time', async () => {
      const { calls, opened, reader } = await failingCached('EAGAIN');
      assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
      assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
      assert.deepEqual(opened, ['thread-pool', 'thread-pool']);
      assert.equal(calls.count, 2);
    });

    for (const code of ['EINVAL', 'ENOSYS', 'EPERM']) {
      test(`${code} (no RESOLVE_CACHED before Linux 5.12, no openat2, a seccomp filter): never tried again`, async () => {
        const { calls, opened, reader } = await failingCached(code);
        assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
        assert.equal(await reader.readFileInRoot(PID, TOKEN_PATH), 'jwt');
        assert.deepEqual(opened, ['thread-pool', 'thread-pool']);
        assert.equal(calls.count, 1);
      });
    }

    test('the kernel answers from its cache alone: a file just written, and never a magic link', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cached-open-'));
      await writeFile(join(dir, 'token'), 'jwt');
      const dirfd = openSync(dir, O_PATH | constants.O_DIRECTORY);
      try {
        const fd = openInRootCached(dirfd, '/token');
        try {
          assert.ok(fstatSync(fd).isFile());
        } finally {
          closeSync(fd);
        }
        const code = (path: string) => {
          try {
            closeSync(openInRootCached(dirfd, path));
            return 'opened';
          } catch (err) {
            return (err as NodeJS.ErrnoException).code;
          }
        };
        assert.match(String(code(`/no-such-directory/token`)), /^(EAGAIN|ENOENT)$/);
        await symlink('/proc/self/root', join(dir, 'magic'));
        // Resolved in the root, the link names <dir>/proc/self/root, which does not exist.
        assert.match(String(code('/magic')), /^(EAGAIN|ENOENT)$/);
      } finally {
        closeSync(dirfd);
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
