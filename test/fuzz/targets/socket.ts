/**
 * Raw bytes on the Workload API socket of a child `run --dev` agent: each input is one
 * connection carrying a mutated HTTP/2 + gRPC byte stream. The oracle here is the agent's: it
 * stays up, and a well-behaved client is served (checked every {@link CHECK_EVERY} inputs and
 * at the end). Fewer inputs than the other targets: each is a real connection.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkloadClient } from '../../../src/cli/workload-client.js';
import { type AgentProcess, spawnAgent, waitForSocket } from '../../support/agent-process.js';
import { connectionBytes } from '../http2-bytes.js';
import type { Rng } from '../prng.js';
import { type FuzzTarget, showBytes } from '../runner.js';

/** A good client is served every this many inputs. */
const CHECK_EVERY = 250;
/** How long one connection may stay open waiting for the agent, ms (streams never end by themselves). */
const CONNECTION_MS = 50;

/** The agent's CPU time so far, ms (utime + stime of /proc/<pid>/stat, 100 ticks a second). */
function agentCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** One fuzzed connection: the bytes sent, and whether the client then half-closes. */
interface SocketInput {
  readonly bytes: Buffer;
  readonly halfClose: boolean;
}

/**
 * Sends the bytes on a new connection; resolves when the agent closes it, shortly after its
 * first answer, or after {@link CONNECTION_MS}, then destroys the connection.
 */
function sendOnce(socketPath: string, input: SocketInput): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let timer = setTimeout(() => done(), CONNECTION_MS);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    socket.on('error', done);
    socket.on('close', done);
    socket.once('data', () => {
      clearTimeout(timer);
      timer = setTimeout(done, 5);
    });
    socket.write(input.bytes);
    if (input.halfClose) socket.end();
  });
}

/** Creates the socket target. */
export function socketTarget(): FuzzTarget<SocketInput> {
  let dir = '';
  let agent: AgentProcess | undefined;
  let socketPath = '';
  let inputs = 0;
  let checks = 0;
  let worstClientMs = 0;
  let cpuAtStart = 0;
  async function goodClient(): Promise<void> {
    const client = createWorkloadClient({ socketPath });
    const started = Date.now();
    try {
      await new Promise<void>((resolve, reject) => {
        const stream = client.fetchX509SVID({ deadline: Date.now() + 10_000 });
        stream.on('data', () => {
          stream.cancel();
          resolve();
        });
        stream.on('error', (err: Error & { code?: number }) => (err.code === 1 ? resolve() : reject(err)));
      });
    } finally {
      client.close();
    }
    checks++;
    worstClientMs = Math.max(worstClientMs, Date.now() - started);
  }
  return {
    name: 'socket',
    codes: [],
    // The CPU time measured here is the client's; the agent's is reported as a figure instead.
    cpuBound: false,
    fullInputs: 20_000,
    smokeInputs: 60,
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'svid-agent-fuzz-'));
      socketPath = join(dir, 'agent.sock');
      // --shutdown-timeout 1s: after fuzzed connections the agent waits out its shutdown bound
      // (connections it sent GOAWAY to are not noticed closing; the socket work of issue 15).
      agent = spawnAgent(['--dev', '--socket', socketPath, '--health-addr', '', '--shutdown-timeout', '1s'], { cwd: dir });
      await waitForSocket(socketPath, agent);
      cpuAtStart = agentCpuMs(agent.child.pid as number);
      await goodClient();
    },
    input: (rng: Rng) => ({ bytes: connectionBytes(rng), halfClose: rng.chance(0.3) }),
    async run(input) {
      if (agent?.child.exitCode !== null) throw new Error(`the agent exited: ${agent?.stderr().slice(-2000)}`);
      await sendOnce(socketPath, input);
      if (++inputs % CHECK_EVERY === 0) await goodClient();
    },
    async finish() {
      if (agent?.child.exitCode !== null) throw new Error(`the agent exited: ${agent?.stderr().slice(-2000)}`);
      await goodClient();
    },
    show: (input) => `${input.halfClose ? 'half-closed, ' : ''}${showBytes(input.bytes, 200)}`,
    figures() {
      const pid = agent?.child.pid as number;
      return {
        'good-client checks': checks,
        'slowest good-client fetch': `${worstClientMs} ms`,
        'agent CPU per connection': `${((agentCpuMs(pid) - cpuAtStart) / Math.max(1, inputs)).toFixed(2)} ms`,
        'agent still running': agent?.child.exitCode === null ? 'yes' : 'NO',
      };
    },
    async teardown() {
      if (agent && agent.child.exitCode === null) {
        agent.child.kill('SIGTERM');
        await agent.exit;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
