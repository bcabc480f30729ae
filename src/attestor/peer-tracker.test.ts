import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createProcFixture, type ProcFixture } from '../../test/support/proc-fixture.js';
import { createPeerTracker } from './peer-tracker.js';
import { createProcReader } from './proc.js';

const PEER = { pid: process.pid, uid: 1000, gid: 1000 };

describe('peer tracker', () => {
  let fixture: ProcFixture;
  before(async () => {
    fixture = await createProcFixture();
  });
  after(() => fixture.cleanup());
  const tracker = () => createPeerTracker({ proc: createProcReader({ procRoot: fixture.root }) });

  test('peerOf reads the kernel credentials of an accepted socket, synchronously', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peer-tracker-'));
    const path = join(dir, 's.sock');
    const accepted = new Promise<net.Socket>((resolve) => {
      const server = net.createServer((socket) => {
        resolve(socket);
        server.close();
      });
      server.listen(path);
    });
    const client = net.connect(path);
    try {
      const peer = tracker().peerOf(await accepted);
      assert.deepEqual(peer, { pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
    } finally {
      client.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('track reads the start time at once; the caller carries it', async () => {
    await fixture.addProcess(process.pid, { startTime: '4242' });
    const tracked = tracker().track(PEER, 'uds:1');
    // Changed after accept: the caller is still described as it was when it connected.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const caller = await tracked.caller();
    assert.deepEqual(caller, { peer: PEER, startTime: '4242', connectionId: 'uds:1' });
    await tracked.checkAlive();
  });

  test('a recycled pid (start time changed) is no longer the caller: NO_IDENTITY', async () => {
    await fixture.addProcess(process.pid, { startTime: '100' });
    const tracked = tracker().track(PEER, 'uds:2');
    await tracked.caller();
    await fixture.setStartTime(process.pid, '101');
    await assert.rejects(tracked.checkAlive(), {
      code: 'NO_IDENTITY',
      message: `caller pid ${process.pid} is no longer the process that connected`,
    });
  });

  test('a process gone after accept is no longer the caller: NO_IDENTITY', async () => {
    await fixture.addProcess(process.pid, { startTime: '100' });
    const tracked = tracker().track(PEER, 'uds:3');
    await tracked.caller();
    await fixture.removeProcess(process.pid);
    await assert.rejects(tracked.checkAlive(), { code: 'NO_IDENTITY' });
  });

  test('no start time at accept: the caller is ATTESTATION_UNAVAILABLE (retryable), never guessed', async () => {
    await fixture.removeProcess(process.pid);
    const tracked = tracker().track(PEER, 'uds:4');
    await assert.rejects(tracked.caller(), {
      code: 'ATTESTATION_UNAVAILABLE',
      message: `could not read the start time of caller pid ${process.pid}`,
    });
    await assert.rejects(tracked.checkAlive(), { code: 'NO_IDENTITY' });
  });
});
