/**
 * Processes the benchmarks measure, started as users start them: the agent by the README's
 * command (`node bin/svid-agent.js run --dev`, the compiled agent), node alone, the bare grpc-js
 * server, and the fetch client. Memory is read from `/proc/<pid>/status` (VmRSS, VmHWM).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MB } from './report.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The installed entry point; `npm run bench` builds `dist/` first. */
export const BIN = join(ROOT, 'bin/svid-agent.js');
const TSX = import.meta.resolve('tsx');

/** A started process and what it wrote to stderr. */
export interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  /** When `spawn` was called (`performance.now()`). */
  readonly spawnedAt: number;
  stderr(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** Every process started and not yet gone: killed if the benchmark itself ends first (a failure). */
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Makes sure `child` does not outlive the benchmark. */
export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Spawns `command args` with stderr collected. */
export function start(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Started {
  const spawnedAt = performance.now();
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  track(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    pid: child.pid as number,
    spawnedAt,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A fresh temporary directory. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `svid-bench-${prefix}-`));
}

/** The README's command in `cwd`, with `extra` flags appended (e.g. `--svid-ttl`). */
export function startReadmeAgent(cwd: string, extra: readonly string[] = []): Started & { readonly socket: string } {
  return { ...start(process.execPath, [BIN, 'run', '--dev', ...extra], { cwd }), socket: join(cwd, '.svid-agent/agent.sock') };
}

/** `node` listening on a unix socket and doing nothing else: the runtime's own footprint. */
export function startNodeAlone(socket: string): Started {
  return start(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)})`]);
}

/** The bare grpc-js server (bench/bare-grpc-server.mjs). */
export function startBareServer(socket: string): Started {
  return start(process.execPath, [join(ROOT, 'bench/bare-grpc-server.mjs'), socket]);
}

/**
 * Resolves once a connection to `socket` succeeds (polled), with the time of that success
 * (`performance.now()`).
 * @throws when `process` exits first or after `timeoutMs`
 */
export async function waitForAccept(socket: string, process: Started, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(socket);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return performance.now();
    if (process.child.exitCode !== null || performance.now() > deadline) {
      throw new Error(`no connection to ${socket}; stderr:\n${process.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** VmRSS and VmHWM of a process, in MB. */
export async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: (kb('VmRSS') * 1024) / MB, hwm: (kb('VmHWM') * 1024) / MB };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fetch client (bench/fetch-client.ts) in a process of its own. */
export interface FetchClient {
  readonly pid: number;
  /** Sends one command and resolves with its answer. */
  send(command: { op: string; n?: number }): Promise<{ op: string; ms?: number[]; code?: number; details?: string }>;
  close(): Promise<void>;
}

/**
 * Starts the fetch client on `socket` and waits for it to be ready; `lean`: node:http2 alone
 * instead of a grpc-js channel per fetch (bench/fetch-client.ts says what each times).
 */
export async function startFetchClient(socket: string, options: { lean?: boolean } = {}): Promise<FetchClient> {
  const args = [join(ROOT, 'bench/fetch-client.ts'), '--socket', socket, ...(options.lean ? ['--lean'] : [])];
  const child = spawn(process.execPath, ['--import', TSX, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  track(child);
  const lines = createInterface({ input: child.stdout });
  const answers: Array<(line: string) => void> = [];
  lines.on('line', (line) => answers.shift()?.(line));
  const next = () => new Promise<string>((resolve) => answers.push(resolve));
  const ready = JSON.parse(await next()) as { pid: number };
  return {
    pid: ready.pid,
    async send(command) {
      const answer = next();
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const parsed = JSON.parse(await answer) as { op: string; ms?: number[]; code?: number; details?: string };
      if (parsed.op === 'error') throw new Error(`fetch client: ${parsed.code} ${parsed.details}`);
      return parsed;
    },
    async close() {
      child.stdin.end();
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}
