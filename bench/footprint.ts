/**
 * Memory and start-up of the agent started by the README's command (`node bin/svid-agent.js run
 * --dev`), beside node alone and a bare grpc-js server measured the same way:
 * - idle: VmRSS 30 s after the socket first accepts a connection, median of 5 fresh starts
 *   (VmHWM printed too);
 * - then, on the same processes, 1,000 sequential fetches (a new connection each, one uid, the
 *   client in its own process) and VmRSS 30 s after the last (median of the 5);
 * - start-up: spawn → first successful connect, median of 10, credentials already present.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { IDLE_STARTS, IDLE_WAIT_MS, scaled } from './mode.js';
import {
  memoryOf,
  type Started,
  sleep,
  startBareServer,
  startFetchClient,
  startNodeAlone,
  startReadmeAgent,
  tempDir,
  waitForAccept,
} from './processes.js';
import { type Figure, median, printTable } from './report.js';

const FETCHES = scaled(1000, 100);
const STARTUP_RUNS = scaled(10, 3);

type Memory = { rss: number; hwm: number };

/**
 * Starts `count` processes one after the other and samples each one IDLE_WAIT_MS after its
 * socket accepts; then, when `fetches` is given, makes that many sequential fetches (a new
 * connection each, one uid, from a client process of its own) and samples it again
 * IDLE_WAIT_MS after the last. (One at a time: two agents would want the same default ports.)
 */
async function idleOf(count: number, launch: (dir: string) => { process: Started; socket: string }, fetches = 0) {
  const idle: Memory[] = [];
  const afterFetches: Memory[] = [];
  for (let i = 0; i < count; i++) {
    const dir = await tempDir('idle');
    const { process, socket } = launch(dir);
    try {
      await waitForAccept(socket, process);
      await sleep(IDLE_WAIT_MS);
      idle.push(await memoryOf(process.pid));
      if (fetches === 0) continue;
      const client = await startFetchClient(socket);
      try {
        await client.send({ op: 'fetch', n: fetches });
      } finally {
        await client.close();
      }
      await sleep(IDLE_WAIT_MS);
      afterFetches.push(await memoryOf(process.pid));
    } finally {
      await process.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const medianOf = (samples: Memory[]) => ({ rss: median(samples.map((s) => s.rss)), hwm: median(samples.map((s) => s.hwm)) });
  return { idle: medianOf(idle), afterFetches: medianOf(afterFetches) };
}

/** spawn → first successful connect of `run --dev`, credentials made by an earlier run. */
async function startupMs(runs: number): Promise<number[]> {
  const dir = await tempDir('startup');
  try {
    const first = startReadmeAgent(dir);
    await waitForAccept(first.socket, first);
    await first.stop();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const agent = startReadmeAgent(dir);
      times.push((await waitForAccept(agent.socket, agent)) - agent.spawnedAt);
      await agent.stop();
    }
    return times;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runFootprint(): Promise<void> {
  console.log(`\n## Footprint: idle memory (${IDLE_STARTS} fresh starts each, sampled ${IDLE_WAIT_MS / 1000} s after the socket accepts)`);
  const [agentRuns, nodeRuns, bareRuns] = await Promise.all([
    idleOf(
      IDLE_STARTS,
      (dir) => {
        const process = startReadmeAgent(dir);
        return { process, socket: process.socket };
      },
      FETCHES,
    ),
    idleOf(IDLE_STARTS, (dir) => ({ process: startNodeAlone(join(dir, 's.sock')), socket: join(dir, 's.sock') })),
    idleOf(IDLE_STARTS, (dir) => ({ process: startBareServer(join(dir, 's.sock')), socket: join(dir, 's.sock') }), FETCHES),
  ]);
  const [agent, node, bare] = [agentRuns.idle, nodeRuns.idle, bareRuns.idle];
  const figures: Figure[] = [
    { label: 'idle VmRSS, `run --dev`', value: agent.rss, unit: 'MB', limit: 64, reference: { label: 'bare grpc-js', value: bare.rss } },
    { label: 'idle VmHWM, `run --dev`', value: agent.hwm, unit: 'MB', reference: { label: 'bare grpc-js', value: bare.hwm } },
    { label: 'idle VmRSS, node alone', value: node.rss, unit: 'MB', note: `VmHWM ${node.hwm.toFixed(1)} MB` },
    { label: 'idle VmRSS, bare grpc-js server', value: bare.rss, unit: 'MB', reference: { label: 'node alone', value: node.rss } },
    {
      label: `VmRSS 30 s after ${FETCHES.toLocaleString('en-US')} sequential fetches`,
      value: agentRuns.afterFetches.rss,
      unit: 'MB',
      limit: 80,
      reference: { label: 'bare grpc-js, the same fetches', value: bareRuns.afterFetches.rss },
      note: `VmHWM ${agentRuns.afterFetches.hwm.toFixed(1)} MB`,
    },
  ];
  printTable('footprint', figures);
}

/** spawn → first successful connect of a process that listens on the socket it is given. */
async function listenerStartupMs(runs: number, launch: (socket: string) => Started): Promise<number[]> {
  const dir = await tempDir('startup-ref');
  try {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const socket = join(dir, `${i}.sock`);
      const started = launch(socket);
      times.push((await waitForAccept(socket, started)) - started.spawnedAt);
      await started.stop();
    }
    return times;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function runStartup(): Promise<void> {
  console.log('\n## Start-up: spawn → first successful connect (`run --dev`: credentials present)');
  const times = await startupMs(STARTUP_RUNS);
  const node = await listenerStartupMs(STARTUP_RUNS, startNodeAlone);
  const bare = await listenerStartupMs(STARTUP_RUNS, startBareServer);
  const all = (t: number[]) => `all: ${t.map((x) => x.toFixed(0)).join(', ')}`;
  printTable('start-up', [
    {
      label: `\`run --dev\`, median of ${STARTUP_RUNS}`,
      value: median(times),
      unit: 'ms',
      limit: 400,
      reference: { label: 'bare grpc-js server', value: median(bare) },
      note: all(times),
    },
    {
      label: `bare grpc-js server, median of ${STARTUP_RUNS}`,
      value: median(bare),
      unit: 'ms',
      reference: { label: 'node alone', value: median(node) },
      note: all(bare),
    },
    { label: `node alone, median of ${STARTUP_RUNS}`, value: median(node), unit: 'ms', note: all(node) },
  ]);
}
