/**
 * Open streams at node scale: 10,000 FetchX509SVID streams on an agent started by the README's
 * command, against a bare grpc-js server holding as many (bench/bare-grpc-server.mjs) and
 * sending every stream one more message on a signal, as a rotation does. The streams come from
 * 10 client processes of 1,000 streams each (bench/stream-client.mjs: plain JavaScript speaking
 * HTTP/2 itself, no grpc-js, no tsx, so that the clients' own decoding is not what is measured),
 * as on a node they come from many workloads; the same client for both servers. Prints VmRSS once every stream is open, again SETTLE_MS later, and the
 * peak (VmHWM); and the time one rotation (brought on by a short `--svid-ttl`) takes to reach
 * every stream: from the agent's `rotated svid` log line to the last client's receipt.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { scaled } from './mode.js';
import { memoryOf, ROOT, type Started, sleep, startBareServer, startReadmeAgent, tempDir, track, waitForAccept } from './processes.js';
import { printTable } from './report.js';

const STREAMS = scaled(10_000, 2_000);
const CLIENTS = 10;
/**
 * When the held streams are measured: 30 s after the last opened, as the idle figures. V8 gives
 * a burst's garbage back to the system only when its memory reducer runs, 60–100 s after the
 * burst or later (measured), so this figure still holds some of the opening's garbage.
 */
const SETTLE_MS = scaled(30_000, 3_000);
/** Rotates at 70 %, 84 s (short: 21 s) after the first SVID: after every stream is open and measured. */
const SVID_TTL = scaled('120s', '30s');

interface ClientEvent {
  readonly event: 'open' | 'updated' | 'error';
  /** Wall-clock ms (`Date.now()`), comparable with the agent's log times. */
  readonly at: number;
  /** On `updated`: the CPU ms the client spent receiving the rotation. */
  readonly cpuMs?: number;
}

/** When the last client had every stream's second message, and the CPU ms the clients spent on it. */
async function allUpdated(clients: ReadonlyArray<{ next(name: 'updated'): Promise<ClientEvent> }>) {
  const events = await Promise.all(clients.map((c) => c.next('updated')));
  return { at: Math.max(...events.map((e) => e.at)), clientCpuMs: events.reduce((sum, e) => sum + (e.cpuMs ?? 0), 0) };
}

/**
 * The caps an operator raises to serve this many streams from one user (the defaults, 4,096
 * streams and 1,024 per caller, keep the agent within the DaemonSet's memory limit).
 */
const CAPS = [`--max-streams=${STREAMS}`, `--max-caller-streams=${STREAMS}`, '--max-caller-connections=1024'];
/** The per-connection figure: this many connections with one stream each. */
const CONNECTIONS = scaled(500, 100);

/** One client process with `streams` streams on `connections` connections. */
function client(socket: string, streams: number, connections = 1) {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bench/stream-client.mjs'), '--socket', socket, '--streams', String(streams), '--connections', String(connections)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  track(child);
  const lines = createInterface({ input: child.stdout });
  const events = new Map<ClientEvent['event'], Promise<ClientEvent>>();
  const waiters = new Map<ClientEvent['event'], (e: ClientEvent) => void>();
  for (const name of ['open', 'updated'] as const) events.set(name, new Promise((resolve) => waiters.set(name, resolve)));
  lines.on('line', (line) => {
    const msg = JSON.parse(line) as ClientEvent;
    if (msg.event === 'error') throw new Error(`stream client: ${line}`);
    waiters.get(msg.event)?.(msg);
  });
  return { next: (name: 'open' | 'updated') => events.get(name) as Promise<ClientEvent>, stop: () => child.kill() };
}

/** Opens every stream on `socket`; resolves when all are open, with the memory before (idle) and then. */
async function openAll(server: Started, socket: string, streams = STREAMS, connectionsEach = 1) {
  await waitForAccept(socket, server);
  // The base is idle memory as in the footprint section: sampled SETTLE_MS after the socket accepts.
  await sleep(SETTLE_MS);
  const before = await memoryOf(server.pid);
  const clients = Array.from({ length: CLIENTS }, () => client(socket, streams / CLIENTS, connectionsEach));
  const opened = Math.max(...(await Promise.all(clients.map((c) => c.next('open')))).map((e) => e.at));
  const open = await memoryOf(server.pid);
  const stop = () => {
    for (const c of clients) c.stop();
  };
  return { before, open, opened, clients, stop };
}

/** The first `rotated svid` log line's time (ms) at or after `after`, if any. */
function rotationLogged(stderr: string, after: number): number | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.includes('"rotated svid"')) continue;
    const time = (JSON.parse(line) as { time: number }).time;
    if (time >= after) return time;
  }
  return undefined;
}

const perStream = (m: { open: { rss: number }; before: { rss: number } }) => ((m.open.rss - m.before.rss) * 1024) / STREAMS;

export async function runStreams(): Promise<void> {
  console.log(`\n## ${STREAMS.toLocaleString('en-US')} open streams from ${CLIENTS} client processes, one identity`);
  const dir = await tempDir('streams');
  try {
    const bare = startBareServer(join(dir, 'bare.sock'));
    const b = await openAll(bare, join(dir, 'bare.sock'));
    await sleep(SETTLE_MS);
    const bareSettled = await memoryOf(bare.pid);
    bare.child.kill('SIGUSR2');
    const bareUpdated = await allUpdated(b.clients);
    const bareRotation = bareUpdated.at - (rotationLogged(bare.stderr(), 0) ?? Number.NaN);
    b.stop();
    await bare.stop();

    const agent = startReadmeAgent(dir, ['--svid-ttl', SVID_TTL, ...CAPS]);
    let perStreamKiB: number;
    try {
      const a = await openAll(agent, agent.socket);
      await sleep(SETTLE_MS);
      const settled = await memoryOf(agent.pid);
      if (rotationLogged(agent.stderr(), 0) !== undefined) throw new Error('the agent rotated before the memory was sampled');
      const updated = await allUpdated(a.clients);
      const rotatedAt = rotationLogged(agent.stderr(), a.opened);
      a.stop();
      if (rotatedAt === undefined) throw new Error('no rotated svid log line');
      const peak = (await memoryOf(agent.pid)).hwm;
      printTable('streams', [
        {
          label: `VmRSS with ${STREAMS} streams open, ${SETTLE_MS / 1000} s after the last opened`,
          value: settled.rss,
          unit: 'MB',
          limit: 300,
          reference: { label: 'bare grpc-js', value: bareSettled.rss },
        },
        {
          label: 'VmRSS the moment the last stream opened',
          value: a.open.rss,
          unit: 'MB',
          reference: { label: 'bare grpc-js', value: b.open.rss },
        },
        {
          label: 'VmHWM (peak), opening and one rotation',
          value: peak,
          unit: 'MB',
          reference: { label: 'bare grpc-js', value: bareSettled.hwm },
        },
        {
          label: `VmRSS per open stream, ${SETTLE_MS / 1000} s after the last opened`,
          value: ((settled.rss - a.before.rss) * 1024) / STREAMS,
          unit: 'KiB',
          reference: { label: 'bare grpc-js', value: ((bareSettled.rss - b.before.rss) * 1024) / STREAMS },
          note: `at the last open: ${perStream(a).toFixed(1)} KiB, bare ${perStream(b).toFixed(1)} KiB`,
        },
        {
          label: 'one rotation: `rotated svid` log line → last stream',
          value: updated.at - rotatedAt,
          unit: 'ms',
          limit: 500,
          reference: { label: 'bare grpc-js, the same message again on every stream', value: bareRotation },
          note: `the ${CLIENTS} clients' CPU receiving it: ${updated.clientCpuMs.toFixed(0)} ms (bare: ${bareUpdated.clientCpuMs.toFixed(0)} ms); load average ${loadavg()[0]?.toFixed(1)}`,
        },
      ]);
      perStreamKiB = ((settled.rss - a.before.rss) * 1024) / STREAMS;
    } finally {
      await agent.stop();
    }
    await runConnections(dir, perStreamKiB);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** KiB of VmRSS per connection holding one stream, SETTLE_MS after the last opened, and VmRSS before. */
async function perConnection(server: Started, socket: string) {
  const opened = await openAll(server, socket, CONNECTIONS, CONNECTIONS / CLIENTS);
  await sleep(SETTLE_MS);
  const settled = await memoryOf(server.pid);
  opened.stop();
  return { kib: ((settled.rss - opened.before.rss) * 1024) / CONNECTIONS, before: opened.before.rss };
}

/**
 * Connections: CONNECTIONS connections with one stream each (from CLIENTS processes), agent and
 * bare server; then the memory the default caps allow: idle + connections × per connection +
 * streams × per stream (docs/performance.md sizes the DaemonSet's limit with it).
 */
async function runConnections(dir: string, perStreamKiB: number): Promise<void> {
  const bare = startBareServer(join(dir, 'bare-c.sock'));
  const b = await perConnection(bare, join(dir, 'bare-c.sock'));
  await bare.stop();
  await mkdir(join(dir, 'connections'));
  const agent = startReadmeAgent(join(dir, 'connections'), CAPS);
  let a: { kib: number; before: number };
  try {
    a = await perConnection(agent, agent.socket);
  } finally {
    await agent.stop();
  }
  const budget = a.before + (1024 * (a.kib - perStreamKiB) + 4096 * perStreamKiB) / 1024;
  printTable('connections', [
    {
      label: `VmRSS per connection holding one stream (${CONNECTIONS} connections), ${SETTLE_MS / 1000} s after the last opened`,
      value: a.kib,
      unit: 'KiB',
      reference: { label: 'bare grpc-js', value: b.kib },
    },
    {
      label: 'the default caps filled: idle + 1,024 connections + 4,096 streams (per-stream figure above)',
      value: budget,
      unit: 'MB',
      note: `idle ${a.before.toFixed(1)} MB; a connection alone ${(a.kib - perStreamKiB).toFixed(1)} KiB`,
    },
  ]);
}
