/**
 * The grpc-js behaviour `connections.ts` relies on, against a real server: a call's `getPeer()`
 * is the `remoteAddress` given to the injected socket, so each call finds its connection's peer,
 * and nothing else is taken for one of ours.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { credentials, Metadata, makeGenericClientConstructor, Server, ServerCredentials, type ServerUnaryCall } from '@grpc/grpc-js';
import type { TrackedPeer } from '../attestor/index.js';
import { createConnectionRegistry } from './connections.js';

const METHOD = {
  path: '/test.Peer/Who',
  requestStream: false,
  responseStream: false,
  requestSerialize: (v: Buffer) => v,
  requestDeserialize: (v: Buffer) => v,
  responseSerialize: (v: Buffer) => v,
  responseDeserialize: (v: Buffer) => v,
};

test('each injected connection is found again from its calls, and only ours are', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'grpc-peer-'));
  const connections = createConnectionRegistry();
  const named: string[] = [];
  const grpcServer = new Server();
  grpcServer.addService(
    { Who: METHOD },
    {
      Who: (call: ServerUnaryCall<Buffer, Buffer>, callback: (err: null, value: Buffer) => void) => {
        const peer = connections.lookup(call.getPeer()) as (TrackedPeer & { name: string }) | undefined;
        callback(null, Buffer.from(peer?.name ?? `unknown ${call.getPeer()}`));
      },
    },
  );
  const injector = grpcServer.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = net.createServer((socket) => {
    connections.add(
      socket,
      (connectionId) => {
        named.push(connectionId);
        return { name: connectionId } as unknown as TrackedPeer;
      },
      `uid:${named.length}`,
    );
    injector.injectConnection(socket);
  });
  const path = join(dir, 's.sock');
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const Client = makeGenericClientConstructor({ Who: METHOD }, 'Peer');
  type Who = (request: Buffer, metadata: Metadata, callback: (err: Error | null, value: Buffer) => void) => void;
  const ask = (client: InstanceType<typeof Client>) =>
    new Promise<string>((resolve, reject) => {
      const who = (client as unknown as { Who: Who }).Who.bind(client);
      who(Buffer.alloc(0), new Metadata(), (err, value) => (err ? reject(err) : resolve(value.toString())));
    });
  // A subchannel pool per client: two connections, not one shared.
  const options = { 'grpc.use_local_subchannel_pool': 1 };
  const a = new Client(`unix:${path}`, credentials.createInsecure(), options);
  const b = new Client(`unix:${path}`, credentials.createInsecure(), options);
  try {
    const first = await ask(a);
    assert.equal(await ask(a), first, 'calls of one connection share its name');
    const second = await ask(b);
    assert.deepEqual([first, second], named);
    assert.notEqual(first, second);
    assert.equal(connections.size(), 2);
    assert.deepEqual([connections.groupOf(first), connections.groupOf(second)], ['uid:0', 'uid:1'], 'the caller group it was admitted in');
    assert.equal(connections.lookup('127.0.0.1:5000'), undefined);
    assert.equal(connections.lookup(`${first}:5000`), undefined);
  } finally {
    a.close();
    b.close();
    injector.destroy();
    grpcServer.forceShutdown();
    listener.close();
    await rm(dir, { recursive: true, force: true });
  }
});
