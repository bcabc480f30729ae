/**
 * Client side of the fetch benchmarks (bench/fetch-latency.ts, bench/kubernetes.ts,
 * bench/footprint.ts): a process of its own that takes one JSON command per stdin line and
 * answers with one JSON line on stdout. Every fetch opens a new connection (its own channel),
 * calls FetchX509SVID, and times the first message; the message is not decoded, so the client
 * is not what is measured.
 *
 *   {"op":"fetch","n":100}   n sequential fetches   → {"op":"fetch","ms":[...]} or {"op":"error",...}
 *   {"op":"hold"}            open one stream, keep it → {"op":"held"} at its first message
 *   {"op":"release"}         cancel the held streams  → {"op":"released"}
 *
 * Starts with {"op":"ready","pid":N}. Flags: --socket PATH
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';

const { values } = parseArgs({ options: { socket: { type: 'string' } } });
const target = `unix:${values.socket}`;
const same = (b: Buffer) => b;
const PATH = '/SpiffeWorkloadAPI/FetchX509SVID';
/** An empty X509SVIDRequest. */
const REQUEST = Buffer.alloc(0);
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

const held: Array<{ client: grpc.Client; call: grpc.ClientReadableStream<Buffer> }> = [];

async function handle(command: { op: string; n?: number }): Promise<unknown> {
  switch (command.op) {
    case 'fetch': {
      const ms: number[] = [];
      for (let i = 0; i < (command.n ?? 1); i++) ms.push(await fetchOnce());
      return { op: 'fetch', ms };
    }
    case 'hold': {
      const client = newClient();
      const call = client.makeServerStreamRequest(PATH, same, same, REQUEST, metadata());
      held.push({ client, call });
      await new Promise<void>((resolve, reject) => {
        call.once('data', () => resolve());
        call.once('error', reject);
      });
      call.on('error', () => undefined);
      return { op: 'held' };
    }
    case 'release':
      for (const { client, call } of held.splice(0)) {
        call.cancel();
        client.close();
      }
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
