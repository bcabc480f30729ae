/**
 * The connection guard on an injected clock and timer: calls counted through the interceptor
 * (a real grpc-js server on a temp socket), the stream budget, the first-call and idle timeouts,
 * and hang-ups.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Client, credentials, Metadata, Server, ServerCredentials, type ServerWritableStream, status } from '@grpc/grpc-js';
import { waitUntil } from '../../test/support/wait-until.js';
import { createBudget } from './budget.js';
import {
  type CloseReason,
  createConnectionGuard,
  FIRST_CALL_TIMEOUT_MS,
  IDLE_GRACE_MS,
  IDLE_TIMEOUT_MS,
  SWEEP_MS,
  type SweepTimers,
} from './connection-guard.js';

function fakeTimers() {
  let armed: (() => void) | undefined;
  const timers: SweepTimers = {
    setInterval(fn) {
      armed = fn;
      return 1;
    },
    clearInterval() {
      armed = undefined;
    },
  };
  return { timers, armed: () => armed !== undefined };
}

function guardWith(options: { hungUp?: (fds: readonly number[]) => number[]; total?: number; perGroup?: number } = {}) {
  const clock = { ms: 0, now: () => clock.ms };
  const t = fakeTimers();
  /** [connection, reason] of each close: the guard reports the reason, then destroys the connection. */
  const closed: Array<[string, CloseReason]> = [];
  let reason: CloseReason | undefined;
  const refused: string[] = [];
  const streams = createBudget({ total: options.total ?? 100, perGroup: options.perGroup ?? 100 });
  const guard = createConnectionGuard({
    streams,
    clock,
    timers: t.timers,
    hungUp: options.hungUp ?? (() => []),
    onStreamRefused: (reason, group) => refused.push(`${reason} ${group}`),
    onClosed: (why) => {
      reason = why;
    },
  });
  const add = (id: string, group = 'uid:1', fd = 10) =>
    guard.add({ id, group, fd, destroy: () => closed.push([id, reason as CloseReason]) });
  return { guard, clock, t, closed, refused, streams, add };
}

test('a connection that starts no call is closed after the first-call timeout; the timer runs only while some are open', () => {
  const { guard, clock, t, closed, add } = guardWith();
  assert.equal(t.armed(), false);
  add('uds:1');
  assert.equal(t.armed(), true);
  clock.ms = FIRST_CALL_TIMEOUT_MS - 1;
  guard.sweep();
  assert.deepEqual(closed, []);
  clock.ms = FIRST_CALL_TIMEOUT_MS;
  guard.sweep();
  assert.deepEqual(closed, [['uds:1', 'no_call']]);
  assert.equal(t.armed(), false, 'nothing left to watch');
});

test('a peer that hung up is closed at the next sweep, whatever its calls', () => {
  const { guard, closed, add } = guardWith({ hungUp: (fds) => fds.flatMap((fd, i) => (fd === 12 ? [i] : [])) });
  add('uds:1', 'uid:1', 11);
  add('uds:2', 'uid:1', 12);
  guard.sweep();
  assert.deepEqual(closed, [['uds:2', 'hangup']]);
});

/** A grpc-js server with the guard's interceptor on a temp socket; each accepted socket gets a uds:<n> name. */
async function serve(guardSetup: ReturnType<typeof guardWith>) {
  const dir = await mkdtemp(join(tmpdir(), 'guard-'));
  const path = join(dir, 's.sock');
  const server = new Server({ interceptors: [guardSetup.guard.interceptor] });
  const pass = (b: Buffer) => b;
  const open: Array<ServerWritableStream<Buffer, Buffer>> = [];
  server.addService(
    {
      Watch: {
        path: '/t/Watch',
        requestStream: false,
        responseStream: true,
        requestSerialize: pass,
        requestDeserialize: pass,
        responseSerialize: pass,
        responseDeserialize: pass,
      },
    },
    {
      Watch: (call: ServerWritableStream<Buffer, Buffer>) => {
        open.push(call);
        call.write(Buffer.from('x'));
      },
    },
  );
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  let n = 0;
  const listener = net.createServer((socket) => {
    const id = `uds:${++n}`;
    Object.defineProperty(socket, 'remoteAddress', { value: id });
    guardSetup.add(id);
    injector.injectConnection(socket);
  });
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const client = new Client(`unix:${path}`, credentials.createInsecure());
  const watch = () =>
    new Promise<{ code: number; cancel: () => void }>((resolve) => {
      const call = client.makeServerStreamRequest('/t/Watch', pass, pass, Buffer.alloc(0), new Metadata());
      call.on('data', () => resolve({ code: status.OK, cancel: () => call.cancel() }));
      call.on('error', (err: { code: number }) => resolve({ code: err.code, cancel: () => undefined }));
    });
  return {
    watch,
    open,
    async close() {
      client.close();
      server.forceShutdown();
      injector.destroy();
      await new Promise((resolve) => listener.close(resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('open calls keep a connection; idle for the idle timeout plus grace, it is closed', async () => {
  const g = guardWith();
  const s = await serve(g);
  try {
    const first = await s.watch();
    assert.equal(first.code, status.OK);
    g.clock.ms = 10 * IDLE_TIMEOUT_MS;
    g.guard.sweep();
    assert.deepEqual(g.closed, [], 'a stream held for a long time keeps its connection');
    assert.equal(g.streams.size(), 1);
    first.cancel();
    await waitUntil(() => g.streams.size() === 0, 'the cancelled stream to end', { everyMs: 0 });
    g.clock.ms += IDLE_TIMEOUT_MS + IDLE_GRACE_MS - SWEEP_MS;
    g.guard.sweep();
    assert.deepEqual(g.closed, []);
    g.clock.ms += SWEEP_MS;
    g.guard.sweep();
    assert.deepEqual(g.closed, [['uds:1', 'idle']]);
  } finally {
    await s.close();
  }
});

test('a call over the stream budget is refused with RESOURCE_EXHAUSTED and counted', async () => {
  const g = guardWith({ total: 100, perGroup: 2 });
  const s = await serve(g);
  try {
    const a = await s.watch();
    const b = await s.watch();
    const c = await s.watch();
    assert.deepEqual([a.code, b.code, c.code], [status.OK, status.OK, status.RESOURCE_EXHAUSTED]);
    assert.deepEqual(g.refused, ['caller_limit uid:1']);
    assert.equal(s.open.length, 2, 'the refused call never reached its handler');
    a.cancel();
    await waitUntil(() => g.streams.size() <= 1, 'the cancelled stream to end', { everyMs: 0 });
    assert.equal((await s.watch()).code, status.OK, 'a place freed is used again');
  } finally {
    await s.close();
  }
});
