/**
 * The agent `npm run attack` attacks: `svid-agent run --dev` from this checkout's sources, in a
 * fresh directory, under `prlimit --nofile=<n>:<n>` so the file-descriptor limit is really
 * reached, with `/metrics` on a loopback port.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export interface AttackedAgent {
  readonly pid: number;
  readonly socket: string;
  /** `http://127.0.0.1:<port>`, serving `/metrics`. */
  readonly url: string;
  stderr(): string;
  /** Open file descriptors and VmRSS (KiB) now. */
  usage(): { fds: number; rssKiB: number };
  /** SIGTERM, wait, remove the directory; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the agent with `flags` added to `run --dev --health-addr 127.0.0.1:0`. */
export async function startAttackedAgent(fdLimit: number, flags: readonly string[] = []): Promise<AttackedAgent> {
  const dir = await mkdtemp(join(tmpdir(), 'svid-agent-attack-'));
  // Attackers run as other users: they must reach the socket (the dev directory is 0755).
  await chmod(dir, 0o755);
  const child = spawn(
    'prlimit',
    [`--nofile=${fdLimit}:${fdLimit}`, process.execPath, '--import', TSX, MAIN, 'run', '--dev', '--health-addr', '127.0.0.1:0', ...flags],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 30_000;
  let url: string | undefined;
  while (url === undefined || !stderr.includes('listening on workload api socket')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the agent did not start:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    url = /"url":"(http:[^"]+)"/.exec(stderr)?.[1];
  }
  const pid = child.pid as number;
  return {
    pid,
    socket: join(dir, '.svid-agent', 'agent.sock'),
    url,
    stderr: () => stderr,
    usage() {
      try {
        const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
        return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKiB: Number(rss ?? 0) };
      } catch {
        return { fds: 0, rssKiB: 0 };
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
}
