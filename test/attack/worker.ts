/**
 * One attacker of `npm run attack`, run as its own process under the uid the driver chooses (a
 * caller other than the good client's; `test/hostile-callers.test.ts` runs it too). Runs one loop
 * of issue 15 item 1 against the socket for `--seconds` or until SIGTERM, then prints one JSON line
 * of counts and exits.
 *
 *   goaway   connect, send the HTTP/2 preface, an empty SETTINGS and a frame header announcing an
 *            oversized frame, close when the GOAWAY comes; `--parallel` loops at once
 *   silent   open up to `--count` connections that never send a byte, and hold them
 *   idle     open up to `--count` HTTP/2 sessions (preface, SETTINGS, SETTINGS ack) and hold them
 *   streams  open `--count` FetchX509SVID streams over `--parallel` connections and hold them
 *   storm    open a FetchX509SVID stream on a new connection and cancel it, `--parallel` loops
 *
 * Flags: --socket PATH --mode M --seconds S [--count N] [--parallel P]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { workloadApiDefinition } from '../../src/protos.js';

const { values } = parseArgs({
  options: {
    socket: { type: 'string' },
    mode: { type: 'string' },
    seconds: { type: 'string', default: '6' },
    count: { type: 'string', default: '1000' },
    parallel: { type: 'string', default: '8' },
  },
});
const socketPath = values.socket as string;
let until = Date.now() + Number(values.seconds) * 1000;
let stop: () => void = () => undefined;
/** Settles when the time is up or SIGTERM came. */
const stopped = new Promise<void>((resolve) => {
  stop = resolve;
  setTimeout(resolve, until - Date.now());
});
process.once('SIGTERM', () => {
  until = 0;
  stop();
});
const count = Number(values.count);
const parallel = Number(values.parallel);
const counts: Record<string, number> = {};
const bump = (what: string) => {
  counts[what] = (counts[what] ?? 0) + 1;
};

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const SETTINGS_ACK = Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]);
/** A frame header announcing a 16 MiB DATA frame: over the default maximum, a connection error. */
const OVERSIZED = Buffer.from([0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]);

/** One GOAWAY round: resolves when the connection is gone. */
function goawayOnce(): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(socketPath, () => socket.write(Buffer.concat([PREFACE, SETTINGS, OVERSIZED])));
    let received = 0;
    bump('connections');
    socket.on('data', (d) => {
      received += d.length;
      // The server's SETTINGS (9 bytes) comes first, then its GOAWAY.
      if (received > SETTINGS.length) {
        bump('goaway');
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (received === 0) bump('closed_by_agent');
      resolve();
    });
  });
}

/**
 * Opens connections (sending `first` on each) until `count` are open or the time is up, and
 * holds them. A connect that fails (EAGAIN: the agent's listen queue is full) is tried again.
 */
async function hold(first: Buffer | undefined): Promise<void> {
  const open = new Set<net.Socket>();
  while (open.size < count && Date.now() < until) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = net.connect(socketPath, () => {
        if (first) socket.write(first);
        bump('connections');
        open.add(socket);
        resolve(true);
      });
      socket.on('error', () => {
        bump('connect_errors');
        resolve(false);
      });
      socket.on('close', () => {
        if (open.delete(socket)) bump('closed_by_agent');
      });
      socket.on('data', () => undefined);
    });
    if (!connected) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  counts.held_after_opening = open.size;
  await stopped;
  counts.held_at_end = open.size;
  for (const socket of open) socket.destroy();
}

const method = workloadApiDefinition().FetchX509SVID as grpc.MethodDefinition<object, object>;
const metadata = () => {
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
};
const newClient = () => new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

/** Opens `count` streams over `parallel` connections and holds them until the time is up. */
async function streams(): Promise<void> {
  const clients = Array.from({ length: parallel }, newClient);
  const calls: grpc.ClientReadableStream<object>[] = [];
  for (let i = 0; i < count; i++) {
    const call = (clients[i % parallel] as grpc.Client).makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      {},
      metadata(),
    );
    let first = true;
    call.on('data', () => {
      if (first) bump('open');
      first = false;
    });
    call.on('error', (err: grpc.ServiceError) => bump(grpc.status[err.code] ?? String(err.code)));
    calls.push(call);
  }
  await stopped;
  for (const call of calls) call.cancel();
  for (const client of clients) client.close();
}

/** Opens a stream on a new connection and cancels it; again until the time is up. */
function stormOnce(i: number): Promise<void> {
  return new Promise((resolve) => {
    const client = newClient();
    const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, {}, metadata());
    const timer = setTimeout(() => call.cancel(), i % 2);
    call.on('data', () => call.cancel());
    call.on('error', () => undefined);
    call.on('status', (st: grpc.StatusObject) => {
      clearTimeout(timer);
      bump(grpc.status[st.code] ?? String(st.code));
      client.close();
      resolve();
    });
  });
}

async function loop(once: (i: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      for (let i = w; Date.now() < until; i += parallel) await once(i);
    }),
  );
}

switch (values.mode) {
  case 'goaway':
    await loop(goawayOnce);
    break;
  case 'silent':
    await hold(undefined);
    break;
  case 'idle':
    await hold(Buffer.concat([PREFACE, SETTINGS, SETTINGS_ACK]));
    break;
  case 'streams':
    await streams();
    break;
  case 'storm':
    await loop(stormOnce);
    break;
  default:
    throw new Error(`unknown --mode ${values.mode}`);
}
process.stdout.write(`${JSON.stringify(counts)}\n`);
process.exit(0);
