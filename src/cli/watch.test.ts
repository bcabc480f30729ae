/**
 * `api watch` against a scripted Workload API server on a temp socket: each FetchX509SVID call
 * runs the next script step, so reconnects, backoff and the stop rule can be checked exactly.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server, ServerCredentials, type ServerWritableStream, status } from '@grpc/grpc-js';
import { startTestAgent } from '../../test/support/agent-harness.js';
import { workloadApiDefinition } from '../protos.js';
import { linearBackoff, runWatch } from './watch.js';
import { fetchX509Once, type X509SVIDResponse } from './workload-client.js';

type Call = ServerWritableStream<unknown, unknown>;
type Step = (call: Call) => void;

interface Fake {
  readonly socketPath: string;
  script: Step[];
  calls: number;
  close(): Promise<void>;
}

async function startFake(dir: string): Promise<Fake> {
  const socketPath = join(dir, `fake-${Math.random().toString(36).slice(2)}.sock`);
  const server = new Server();
  const fake: Fake = {
    socketPath,
    script: [],
    calls: 0,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
  server.addService(workloadApiDefinition(), {
    FetchX509SVID(call: Call) {
      const step = fake.script[fake.calls++];
      if (step) step(call);
      else call.emit('error', { code: status.INVALID_ARGUMENT, details: 'script ended' });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return fake;
}

const fail =
  (code: status, details: string): Step =>
  (call) =>
    call.emit('error', { code, details });

function collect() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) } };
}

/** A backoff that answers `ms` and records the attempt numbers it was asked about. */
const record = (attempts: number[], ms: number) => (attempt: number) => {
  attempts.push(attempt);
  return ms;
};

const updates = (out: readonly string[]) => out.join('').match(/^SPIFFE ID:/gm)?.length ?? 0;

describe('api watch', () => {
  let dir: string;
  let message: X509SVIDResponse;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svid-agent-watch-'));
    // A real response from a real agent, replayed by the fake.
    const agent = await startTestAgent();
    try {
      message = await fetchX509Once({ socketPath: agent.socketPath, timeoutMs: 5000 });
    } finally {
      await agent.close();
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const send: Step = (call) => call.write(message);

  test("go-spiffe's backoff: linear 1 s steps, capped at 30 s", () => {
    assert.deepEqual([1, 2, 3, 29, 30, 31, 100].map(linearBackoff), [1000, 2000, 3000, 29000, 30000, 30000, 30000]);
  });

  test('prints every update, reconnects after an error, stops on INVALID_ARGUMENT', async () => {
    const fake = await startFake(dir);
    try {
      fake.script = [
        (call) => {
          send(call);
          fail(status.UNAVAILABLE, 'agent restarting')(call);
        },
        (call) => {
          send(call);
          fail(status.INVALID_ARGUMENT, 'security header missing from request')(call);
        },
      ];
      const c = collect();
      const attempts: number[] = [];
      const code = await runWatch({
        socketPath: fake.socketPath,
        io: c.io,
        signal: new AbortController().signal,
        backoff: record(attempts, 10),
      });
      assert.equal(code, 1);
      assert.equal(updates(c.out), 2);
      assert.match(c.out.join(''), /^Received 1 svid after /m);
      assert.deepEqual(c.err, [
        'svid-agent: watch: UNAVAILABLE: agent restarting, retrying in 10ms\n',
        'svid-agent: watch stopped: INVALID_ARGUMENT: security header missing from request\n',
      ]);
      assert.deepEqual(attempts, [1]);
    } finally {
      await fake.close();
    }
  });

  test('the backoff grows while nothing arrives and starts over after a message; a clean end is retried', async () => {
    const fake = await startFake(dir);
    try {
      fake.script = [
        fail(status.PERMISSION_DENIED, 'no identity issued'),
        fail(status.PERMISSION_DENIED, 'no identity issued'),
        (call) => {
          send(call);
          call.end();
        },
        fail(status.UNAVAILABLE, 'down'),
      ];
      const c = collect();
      const attempts: number[] = [];
      const code = await runWatch({
        socketPath: fake.socketPath,
        io: c.io,
        signal: new AbortController().signal,
        backoff: record(attempts, 5),
      });
      assert.equal(code, 1);
      assert.deepEqual(attempts, [1, 2, 1, 2]);
      assert.equal(updates(c.out), 1);
      assert.match(c.err[2] ?? '', /^svid-agent: watch: the agent ended the stream, retrying in 5ms\n$/);
    } finally {
      await fake.close();
    }
  });

  test('an update that fails the checks is reported and skipped; the stream goes on', async () => {
    const fake = await startFake(dir);
    try {
      fake.script = [
        (call) => {
          call.write({ svids: [] });
          send(call);
          fail(status.INVALID_ARGUMENT, 'stop')(call);
        },
      ];
      const c = collect();
      assert.equal(await runWatch({ socketPath: fake.socketPath, io: c.io, signal: new AbortController().signal, backoff: () => 5 }), 1);
      assert.equal(updates(c.out), 1);
      assert.match(c.err[0] ?? '', /^svid-agent: watch: skipped an update: /);
      assert.equal(fake.calls, 1);
    } finally {
      await fake.close();
    }
  });

  test('an interrupt ends the watch with exit 0, on an open stream and during the backoff', async () => {
    const fake = await startFake(dir);
    try {
      fake.script = [send, fail(status.UNAVAILABLE, 'down')];
      const open = new AbortController();
      const c = collect();
      const first = runWatch({
        socketPath: fake.socketPath,
        io: {
          ...c.io,
          out: (t) => {
            c.io.out(t);
            open.abort();
          },
        },
        signal: open.signal,
        backoff: () => 60_000,
      });
      assert.equal(await first, 0);
      assert.equal(updates(c.out), 1);

      const waiting = new AbortController();
      const started = Date.now();
      const second = runWatch({
        socketPath: fake.socketPath,
        io: { out: () => {}, err: () => waiting.abort() },
        signal: waiting.signal,
        backoff: () => 60_000,
      });
      assert.equal(await second, 0);
      assert.ok(Date.now() - started < 5000, 'the 60 s backoff was cut short');
    } finally {
      await fake.close();
    }
  });
});
