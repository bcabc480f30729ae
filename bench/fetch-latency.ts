/**
 * A fetch on a new connection for an identity the agent already holds, against the same fetch
 * from a bare grpc-js server (bench/bare-grpc-server.mjs): client and servers in separate
 * processes; channel creation → first message; 5 runs of SAMPLES fetches each, agent and bare
 * server alternating fetch by fetch; the goal is the median of the per-run ratios of the p99s.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { scaled } from './mode.js';
import { startBareServer, startFetchClient, startReadmeAgent, tempDir, waitForAccept } from './processes.js';
import { median, printTable, quantile } from './report.js';

const RUNS = scaled(5, 2);
const SAMPLES = scaled(200, 50);
const WARMUP = scaled(50, 10);

export async function runFetchLatency(): Promise<void> {
  console.log(`\n## Fetch on a new connection, identity held (${RUNS} interleaved runs of ${SAMPLES})`);
  const dir = await tempDir('fetch');
  const agent = startReadmeAgent(dir);
  const bareSocket = join(dir, 'bare.sock');
  const bare = startBareServer(bareSocket);
  try {
    await waitForAccept(agent.socket, agent);
    await waitForAccept(bareSocket, bare);
    const agentClient = await startFetchClient(agent.socket);
    const bareClient = await startFetchClient(bareSocket);
    try {
      // A stream held open for the whole run: the identity stays held, as for a running workload.
      await agentClient.send({ op: 'hold' });
      await agentClient.send({ op: 'fetch', n: WARMUP });
      await bareClient.send({ op: 'fetch', n: WARMUP });
      const runs: Array<{ agent: number[]; bare: number[] }> = [];
      for (let i = 0; i < RUNS; i++) {
        // Fetch by fetch, alternating, so that both see the same machine (it is shared and noisy).
        const run = { agent: [] as number[], bare: [] as number[] };
        for (let j = 0; j < SAMPLES; j++) {
          run.bare.push(...((await bareClient.send({ op: 'fetch', n: 1 })).ms ?? []));
          run.agent.push(...((await agentClient.send({ op: 'fetch', n: 1 })).ms ?? []));
        }
        runs.push(run);
      }
      const ratios = runs.map((r) => quantile(r.agent, 0.99) / quantile(r.bare, 0.99));
      const all = { agent: runs.flatMap((r) => r.agent), bare: runs.flatMap((r) => r.bare) };
      printTable('fetch', [
        {
          label: 'p99 (median of runs); ratio: median of per-run ratios',
          value: median(runs.map((r) => quantile(r.agent, 0.99))),
          unit: 'ms',
          reference: { label: 'bare grpc-js p99 (median of runs)', value: median(runs.map((r) => quantile(r.bare, 0.99))) },
          ratio: median(ratios),
          ratioLimit: 1.5,
          note: `per-run ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
        },
        {
          label: 'p50, all runs',
          value: quantile(all.agent, 0.5),
          unit: 'ms',
          reference: { label: 'bare p50', value: quantile(all.bare, 0.5) },
        },
        {
          label: 'p99, all runs',
          value: quantile(all.agent, 0.99),
          unit: 'ms',
          reference: { label: 'bare p99', value: quantile(all.bare, 0.99) },
        },
      ]);
    } finally {
      await agentClient.close();
      await bareClient.close();
    }
  } finally {
    await agent.stop();
    await bare.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
