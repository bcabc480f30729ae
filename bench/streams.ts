/**
 * Open streams at node scale (the design goal: a node may hold 10,000 open streams, each
 * identity's response built once and shared). Starts the agent in this process, opens the
 * streams from a child process, and prints: agent heap and RSS per open stream, the time for
 * all streams to open, and the time for one rotation to reach every stream.
 *
 *   node --expose-gc --import tsx bench/streams.ts [--streams 10000] [--connections 10]
 *   (or: npm run bench:streams)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startTestAgent } from '../test/support/agent-harness.js';

const { values } = parseArgs({
  options: { streams: { type: 'string', default: '10000' }, connections: { type: 'string', default: '10' } },
});
const streams = Number(values.streams);
const gc = (globalThis as { gc?: () => void }).gc;

function memory(): { heap: number; rss: number } {
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

const agent = await startTestAgent({ shutdownTimeoutMs: 2_000 });
const before = memory();
const client = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    fileURLToPath(new URL('./stream-client.ts', import.meta.url)),
    '--socket',
    agent.socketPath,
    '--streams',
    String(streams),
    '--connections',
    String(values.connections),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: client.stdout });
const next = (event: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const onLine = (line: string) => {
      const msg = JSON.parse(line) as { event: string };
      if (msg.event === 'error') reject(new Error(line));
      if (msg.event === event) {
        lines.off('line', onLine);
        resolve();
      }
    };
    lines.on('line', onLine);
  });

const t0 = performance.now();
await next('open');
const openMs = performance.now() - t0;
const held = memory();
const openOnAgent = agent.running.workloadApi.openStreams();
const t1 = performance.now();
agent.running.workloadApi.store.reissueAll(0);
await next('updated');
const rotateMs = performance.now() - t1;
client.kill();
await agent.close();

const kb = (bytes: number) => (bytes / 1024).toFixed(2);
console.log(
  `node ${process.version}; ${streams} streams over ${values.connections} connections, one identity${gc ? '' : ' (run with --expose-gc for steadier memory figures)'}`,
);
console.log('');
console.log('| figure | value |');
console.log('|---|---:|');
console.log(`| open streams (agent's count) | ${openOnAgent} |`);
console.log(`| agent heap per open stream | ${kb((held.heap - before.heap) / streams)} KiB |`);
console.log(`| agent RSS per open stream | ${kb((held.rss - before.rss) / streams)} KiB |`);
console.log(`| time until every stream had its first SVID | ${openMs.toFixed(0)} ms |`);
console.log(
  `| one rotation reaching every stream | ${rotateMs.toFixed(0)} ms (${((rotateMs * 1000) / streams).toFixed(1)} µs per stream) |`,
);
console.log(`| responses encoded for that rotation | 1 (shared by all ${streams} streams) |`);
