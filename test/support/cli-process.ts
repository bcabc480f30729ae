/**
 * `svid-agent ...` as a child process (from the sources, see svid-agent-command.ts), the way users
 * and probes run it: one-shot
 * commands ({@link runCli}) and long-running ones ({@link startCli}: `run`, `api watch`) whose
 * output is collected as it comes.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { guardLogLine } from './log-guard.js';
import { spawnSvidAgent, svidAgentArgv } from './svid-agent-command.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment without the variables the CLI reads, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const name of ['SPIFFE_ENDPOINT_SOCKET', 'SVID_AGENT_SOCKET', 'NODE_NAME', 'KUBECONFIG']) delete base[name];
  return { ...base, ...env };
}

/** How a command is started: its environment additions, working directory, and user. */
export interface CliOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  /** Run as this user and group (needs root). */
  readonly uid?: number;
  readonly gid?: number;
}

/** Runs one command to completion. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      svidAgentArgv(args),
      { cwd: options.cwd, env: cleanEnv(options.env ?? {}), timeout: 30_000, uid: options.uid, gid: options.gid },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        for (const line of stderr.split('\n')) guardLogLine(line, `svid-agent ${args[0] ?? ''}`);
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A command that keeps running until the test stops it. */
export interface CliProcess {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `pred` holds for the output so far (checked on every chunk). */
  waitFor(pred: (out: { stdout: string; stderr: string }) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code when the process exits on its own. */
  readonly exited: Promise<number | null>;
}

/** Starts a command; its stdout and stderr are kept in memory. */
export function startCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawnSvidAgent(args, {
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
    env: cleanEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const checks = new Set<() => void>();
  const onChunk = () => {
    for (const check of [...checks]) check();
  };
  child.stdout?.on('data', (d) => {
    stdout += String(d);
    onChunk();
  });
  child.stderr?.on('data', (d) => {
    stderr += String(d);
    onChunk();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      for (const line of stderr.split('\n')) guardLogLine(line, 'a svid-agent process');
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    waitFor(pred, what, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred({ stdout, stderr })) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        }, timeoutMs);
        const gone = () => {
          cleanup();
          reject(new Error(`process exited while waiting for ${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          checks.delete(check);
          child.off('exit', gone);
        };
        checks.add(check);
        child.once('exit', gone);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
