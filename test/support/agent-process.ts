/** Runs `svid-agent run` as its own process, as a DaemonSet would, for signal and restart tests. */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { guardLogLine } from './log-guard.js';
import { spawnSvidAgent } from './svid-agent-command.js';

export interface AgentProcess {
  readonly child: ChildProcess;
  /** Everything the agent wrote to stderr (its JSON logs). */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exit: Promise<number | null>;
}

/** Spawns `svid-agent run <args>` from the sources in `cwd`; `entry`: a freshly built bin instead. */
export function spawnAgent(args: readonly string[], options: { entry?: string; cwd?: string } = {}): AgentProcess {
  const child = spawnSvidAgent(['run', ...args], { entry: options.entry, stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  child.stdout?.resume();
  const exit = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      for (const line of stderr.split('\n')) guardLogLine(line, 'an agent process');
      resolve(code);
    }),
  );
  return { child, stderr: () => stderr, exit };
}

/** Waits until the agent's socket exists (it is created only once the agent serves). */
export async function waitForSocket(path: string, agent: AgentProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path) || !agent.stderr().includes('listening on workload api socket')) {
    if (Date.now() > deadline || agent.child.exitCode !== null) throw new Error(`agent did not start: ${agent.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
