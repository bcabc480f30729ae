/**
 * Admission at accept: decided on the kernel's peer credentials before the peer tracker reads
 * anything from /proc (at once, or after placing the caller), and released when an admitted
 * connection closes; a burst of refusals is one log line.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ConnectionInjector } from '@grpc/grpc-js';
import { captureLogger } from '../../test/support/log-capture.js';
import { waitUntil } from '../../test/support/wait-until.js';
import type { PeerTracker, TrackedPeer } from '../attestor/index.js';
import type { AdmissionDecision, ConnectionAdmission } from './connection-admission.js';
import { createConnectionRegistry } from './connections.js';
import { listenOnSocket } from './socket-server.js';

const closed = (socket: net.Socket) => new Promise((resolve) => socket.once('close', resolve));

test('a refused peer is closed before any /proc read; an admitted one is tracked, injected, announced and released', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'socket-server-'));
  const uids = [65534, 65534, 65534, 1000, 2000];
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
  let placeLater: (d: AdmissionDecision) => void = () => undefined;
  const admission: ConnectionAdmission = {
    admit(peer) {
      if (peer.uid === 65534) return { admitted: false, reason: 'caller_limit', group: 'uid:65534' };
      const decision: AdmissionDecision = { admitted: true, group: `uid:${peer.uid}`, release: () => events.push(`released ${peer.uid}`) };
      if (peer.uid === 1000) return decision;
      // uid 2000 is placed asynchronously, as a pod would be.
      return new Promise((resolve) => {
        placeLater = () => resolve(decision);
      });
    },
  };
  const refusals: string[] = [];
  const announced: string[] = [];
  const log = captureLogger();
  const connections = createConnectionRegistry();
  const path = join(dir, 'agent.sock');
  const server = await listenOnSocket({
    path,
    injector,
    connections,
    peers,
    admission,
    onRefused: (r) => refusals.push(r),
    onAdmitted: (tracked, group) => announced.push(`${tracked.peer.uid} in ${group}`),
    logger: log.logger,
  });
  try {
    for (let i = 0; i < 3; i++) await closed(net.connect(path));
    assert.deepEqual(tracked, [], 'nothing tracked (no start-time read) for a refused peer');
    assert.deepEqual(refusals, ['caller_limit', 'caller_limit', 'caller_limit'], 'every refusal is counted');
    const lines = log.entries.filter((e) => e.msg === 'connection refused');
    assert.equal(lines.length, 1, 'a burst of refusals is logged once');
    assert.equal(lines[0]?.reason, 'caller_limit');

    const admitted = net.connect(path);
    await waitUntil(() => injected.length > 0, 'the admitted connection to be injected', { everyMs: 0 });
    assert.deepEqual(tracked, ['1000@uds:1']);
    assert.equal(connections.size(), 1);

    const later = net.connect(path);
    await new Promise((resolve) => later.once('connect', resolve));
    await waitUntil(
      () => {
        placeLater({} as AdmissionDecision);
        return tracked.length >= 2 || server.size() >= 2;
      },
      'the second connection to be placed',
      { everyMs: 0 },
    );
    assert.deepEqual(tracked, ['1000@uds:1', '2000@uds:2'], 'served once placed');
    assert.deepEqual(announced, ['1000 in uid:1000', '2000 in uid:2000'], 'admitted peers only, with their group');

    admitted.destroy();
    (injected[0] as net.Socket).destroy();
    await waitUntil(() => events.length > 0, 'the closed connection to be released', { everyMs: 0 });
    assert.deepEqual(events, ['released 1000']);
    later.destroy();
  } finally {
    await server.close(0);
    await rm(dir, { recursive: true, force: true });
  }
});

test('with an attestor to start, the connection goes to grpc-js a turn after it is announced; one gone by then does not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'socket-server-'));
  const accepted: net.Socket[] = [];
  const peers: PeerTracker = {
    peerOf(socket) {
      accepted.push(socket);
      return { pid: 4242, uid: 1000, gid: 0 };
    },
    track: (peer) => ({ peer }) as TrackedPeer,
  };
  const injected: net.Socket[] = [];
  const injector = { injectConnection: (socket: net.Socket) => injected.push(socket) } as unknown as ConnectionInjector;
  const released: string[] = [];
  const admission: ConnectionAdmission = { admit: () => ({ admitted: true, group: 'uid:1000', release: () => released.push('released') }) };
  const order: string[] = [];
  let hangUp = false;
  const server = await listenOnSocket({
    path: join(dir, 'agent.sock'),
    injector,
    connections: createConnectionRegistry(),
    peers,
    admission,
    onAdmitted() {
      order.push(`announced with ${injected.length} injected`);
      // The client is gone before the next turn: its socket is closed now.
      if (hangUp) accepted.at(-1)?.destroy();
    },
    logger: captureLogger().logger,
  });
  try {
    const first = net.connect(join(dir, 'agent.sock'));
    await waitUntil(() => injected.length === 1, 'the first connection to be injected', { everyMs: 0 });
    assert.deepEqual(order, ['announced with 0 injected'], 'announced (the attestor started) before the handover');

    hangUp = true;
    const second = net.connect(join(dir, 'agent.sock'));
    await waitUntil(() => released.length === 1, 'the second connection to be released', { everyMs: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(injected.length, 1, 'a connection closed before its handover is not handed over');
    first.destroy();
    second.destroy();
  } finally {
    await server.close(0);
    await rm(dir, { recursive: true, force: true });
  }
});
