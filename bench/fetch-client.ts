/**
 * Client side of the fetch benchmarks (bench/fetch-latency.ts, bench/kubernetes.ts,
 * bench/footprint.ts): a process of its own that takes one JSON command per stdin line and
 * answers with one JSON line on stdout. Every fetch opens a new connection, calls FetchX509SVID,
 * and times the first message; the message is not decoded, so the client is not what is measured.
 *
 * Two ways to make the call:
 * - grpc-js (the default): a new channel per fetch, from creating it to the first message. Most
 *   of its time is grpc-js's own work in this process (channel, resolver, subchannel, filters).
 * - `--lean`: node:http2 alone: `connect` over the unix socket (HTTP/2 with prior knowledge), one
 *   POST stream with the gRPC headers (`content-type: application/grpc`, `te: trailers`,
 *   `workload.spiffe.io: true`) and an empty, length-prefixed request, timed from `connect` to
 *   the first DATA frame of the answer. What is left is the connection, the HTTP/2 handshake and
 *   the server's own work.
 *
 *   {"op":"fetch","n":100}   n sequential fetches   → {"op":"fetch","ms":[...]} or {"op":"error",...}
 *   {"op":"hold"}            open one stream, keep it → {"op":"held"} at its first message
 *   {"op":"release"}         cancel the held streams  → {"op":"released"}
 *
 * Starts with {"op":"ready","pid":N}. Flags: --socket PATH [--lean]
 */
import http2 from 'node:http2';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';

const { values } = parseArgs({ options: { socket: { type: 'string' }, lean: { type: 'boolean' } } });
const socketPath = values.socket as string;
const target = `unix:${socketPath}`;
const same = (b: Buffer) => b;
const PATH = '/SpiffeWorkloadAPI/FetchX509SVID';
/** An empty X509SVIDRequest. */
const REQUEST = Buffer.alloc(0);
/** The same, framed for the wire (lean mode): compressed flag 0, length 0. */
const EMPTY_FRAME = Buffer.alloc(5);
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

function metadata(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
}

function newClient(): grpc.Client {
  // A channel of its own with a local subchannel pool: a new connection every time.
  return new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
}

/** One fetch on a new connection: ms from creating the channel to the first message. */
function fetchOnce(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const client = newClient();
    const call = client.makeServerStreamRequest(PATH, same, same, REQUEST, metadata());
    call.once('data', () => {
      const ms = performance.now() - started;
      call.cancel();
      client.close();
      resolve(ms);
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code === grpc.status.CANCELLED) return;
      client.close();
      reject(err);
    });
  });
}

/** A FetchX509SVID stream opened on a new HTTP/2 connection; `data` is told at its first DATA frame. */
function leanStream(data: () => void, fail: (err: Error) => void): { close(): void } {
  const session = http2.connect('http://localhost', { createConnection: () => net.connect(socketPath) });
  session.on('error', fail);
  const stream = session.request({
    ':method': 'POST',
    ':path': PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    'workload.spiffe.io': 'true',
  });
  stream.on('error', fail);
  stream.once('data', data);
  stream.on('response', (headers) => {
    const status = headers['grpc-status'];
    if (status !== undefined && status !== '0') fail(new Error(`grpc-status ${status}: ${headers['grpc-message']}`));
  });
  stream.on('trailers', (trailers) => {
    const status = trailers['grpc-status'];
    if (status !== undefined && status !== '0') fail(new Error(`grpc-status ${status}: ${trailers['grpc-message']}`));
  });
  // An empty X509SVIDRequest: flag 0 (not compressed), length 0.
  stream.end(EMPTY_FRAME);
  return {
    close() {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
    },
  };
}

/** {@link fetchOnce} with node:http2 alone: ms from `connect` to the first DATA frame. */
function fetchOnceLean(): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let settled = false;
    const call = leanStream(
      () => {
        const ms = performance.now() - started;
        settled = true;
        call.close();
        resolve(ms);
      },
      (err) => {
        if (settled) return;
        settled = true;
        call.close();
        reject(err);
      },
    );
  });
}

const held: Array<{ close(): void }> = [];

async function handle(command: { op: string; n?: number }): Promise<unknown> {
  switch (command.op) {
    case 'fetch': {
      const ms: number[] = [];
      for (let i = 0; i < (command.n ?? 1); i++) ms.push(await (values.lean ? fetchOnceLean() : fetchOnce()));
      return { op: 'fetch', ms };
    }
    case 'hold': {
      if (values.lean) {
        await new Promise<void>((resolve, reject) => held.push(leanStream(resolve, reject)));
        return { op: 'held' };
      }
      const client = newClient();
      const call = client.makeServerStreamRequest(PATH, same, same, REQUEST, metadata());
      held.push({
        close() {
          call.cancel();
          client.close();
        },
      });
      await new Promise<void>((resolve, reject) => {
        call.once('data', () => resolve());
        call.once('error', reject);
      });
      call.on('error', () => undefined);
      return { op: 'held' };
    }
    case 'release':
      for (const call of held.splice(0)) call.close();
      return { op: 'released' };
    default:
      throw new Error(`unknown op ${command.op}`);
  }
}

print({ op: 'ready', pid: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    print(await handle(JSON.parse(line) as { op: string; n?: number }));
  } catch (err) {
    const e = err as grpc.ServiceError;
    print({ op: 'error', code: e.code, details: e.details ?? String(err) });
  }
}
process.exit(0);
