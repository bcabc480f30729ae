import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, fstatSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitUntil } from '../../test/support/wait-until.js';
import { filesystemOfMount, mountIdFromFdinfo, onMemoryFilesystem, readRegularFileSync } from './file-read.js';

// Lines of proc(5)'s shape: optional fields before the separator, escaped spaces in paths.
const MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '36 22 0:31 / /var/lib/kubelet/pods/p/volumes/kubernetes.io~projected/kube-api-access-x rw,relatime - tmpfs tmpfs rw,size=1024k',
  '37 22 0:32 / /mnt/with\\040space rw master:1 shared:7 - fuse.sshfs host:/dir rw,user_id=0',
  '38 22 0:33 / /odd rw -',
].join('\n');

describe('mountIdFromFdinfo', () => {
  test('reads mnt_id, and nothing from a kernel that does not write it', () => {
    assert.equal(mountIdFromFdinfo('pos:\t0\nflags:\t0100000\nmnt_id:\t36\nino:\t12\n'), 36);
    assert.equal(mountIdFromFdinfo('pos:\t0\nflags:\t0100000\n'), undefined);
  });
});

describe('filesystemOfMount', () => {
  test('finds the type of the mount by its ID, after the separator', () => {
    assert.equal(filesystemOfMount(MOUNTINFO, 22), 'ext4');
    assert.equal(filesystemOfMount(MOUNTINFO, 36), 'tmpfs');
    assert.equal(filesystemOfMount(MOUNTINFO, 37), 'fuse.sshfs');
  });

  test('a missing mount, a parent ID and a line without a separator give nothing', () => {
    assert.equal(filesystemOfMount(MOUNTINFO, 99), undefined);
    assert.equal(filesystemOfMount(MOUNTINFO, 1), undefined, '1 is a parent ID only');
    assert.equal(filesystemOfMount(MOUNTINFO, 3), undefined, 'no prefix match on 36 or 37');
    assert.equal(filesystemOfMount(MOUNTINFO, 38), undefined);
  });
});

describe('onMemoryFilesystem and readRegularFileSync', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-read-'));
    file = join(dir, 'token');
    await writeFile(file, 'jwt');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A mountinfo of this namespace whose every mount is of `type`. */
  const mountinfo = async (type: string): Promise<string> => {
    const path = join(dir, `mountinfo-${type}`);
    await writeFile(path, (await readFile('/proc/self/mountinfo', 'utf8')).replace(/ - \S+ /g, ` - ${type} `));
    return path;
  };

  test('the kernel names the mount; the caller mountinfo its type', async () => {
    const fd = openSync(file, 'r');
    try {
      assert.equal(onMemoryFilesystem(fd, await mountinfo('tmpfs')), true);
      assert.equal(onMemoryFilesystem(fd, await mountinfo('ramfs')), true);
      assert.equal(onMemoryFilesystem(fd, await mountinfo('fuse')), false);
      assert.equal(onMemoryFilesystem(fd, join(dir, 'no-such-mountinfo')), false);
      assert.equal(onMemoryFilesystem(fd, join(dir, 'token')), false, 'no mount lines');
    } finally {
      readRegularFileSync(fd, 16);
    }
  });

  test('a caller mountinfo longer than 64 KiB is not searched', async () => {
    const path = join(dir, 'mountinfo-long');
    const filler = `${'9'.repeat(20)} 1 0:1 / /x rw - ext4 x rw\n`.repeat(Math.ceil((64 * 1024) / 40));
    await writeFile(path, filler + (await readFile(await mountinfo('tmpfs'), 'utf8')));
    const fd = openSync(file, 'r');
    try {
      assert.equal(onMemoryFilesystem(fd, path), false);
    } finally {
      readRegularFileSync(fd, 16);
    }
  });

  test('readRegularFileSync refuses what is not a regular file, and closes it (through the thread pool)', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const { ino } = fstatSync(fd);
    assert.throws(() => readRegularFileSync(fd, 16), /not a regular file/);
    // Closed: the descriptor is gone, or its number already names another file.
    await waitUntil(() => {
      try {
        return fstatSync(fd).ino !== ino;
      } catch {
        return true;
      }
    }, 'the FIFO to be closed');
  });

  test('readRegularFileSync reads and closes, and refuses what is over the cap', () => {
    const fd = openSync(file, 'r');
    assert.equal(readRegularFileSync(fd, 3), 'jwt');
    assert.throws(() => fstatSync(fd), { code: 'EBADF' }, 'closed');
    assert.throws(() => readRegularFileSync(openSync(file, 'r'), 2), /larger than 2 bytes/);
    assert.throws(() => readRegularFileSync(openSync(dir, 'r'), 16), /not a regular file/);
  });
});
