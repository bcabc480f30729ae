/**
 * Admission at accept: decided on the kernel's peer credentials before the peer tracker reads
 * anything from /proc, and released when an admitted connection closes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ConnectionInjector } from '@grpc/grpc-js';
import type { PeerCredentials, PeerTracker, TrackedPeer } from '../attestor/index.js';
import { silentLogger } from '../log.js';
import { createConnectionRegistry } from './connections.js';
import { type ConnectionAdmission, listenOnSocket } from './socket-server.js';

test('a refused peer is closed before any /proc read; an admitted one is tracked, injected and released', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'socket-server-'));
  const uids = [65534, 1000];
  const tracked: string[] = [];
  const events: string[] = [];
  const peers: PeerTracker = {
    peerOf: () => ({ pid: 4242, uid: uids.shift() ?? 0, gid: 0 }),
    track(peer, connectionId) {
      tracked.push(`${peer.uid}@${connectionId}`);
      return { peer } as TrackedPeer;
    },
  };
  const injected: net.Socket[] = [];
  const injector = { injectConnection: (socket: net.Socket) => injected.push(socket) } as unknown as ConnectionInjector;
  const admission: ConnectionAdmission = {
    admit: (peer: PeerCredentials) => (peer.uid === 65534 ? 'uid 65534 has too many connections' : undefined),
    closed: (peer: PeerCredentials) => events.push(`closed ${peer.uid}`),
  };
  const connections = createConnectionRegistry();
  const path = join(dir, 'agent.sock');
  const server = await listenOnSocket({ path, injector, connections, peers, admission, logger: silentLogger() });
  try {
    const refused = net.connect(path);
    await new Promise((resolve) => refused.once('close', resolve));
    assert.deepEqual(tracked, [], 'nothing tracked (no start-time read) for a refused peer');

    const admitted = net.connect(path);
    await new Promise((resolve) => admitted.once('connect', resolve));
    while (injected.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(tracked, ['1000@uds:1']);
    assert.equal(connections.size(), 1);
    admitted.destroy();
    (injected[0] as net.Socket).destroy();
    while (events.length === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(events, ['closed 1000']);
  } finally {
    await server.close(0);
    await rm(dir, { recursive: true, force: true });
  }
});
