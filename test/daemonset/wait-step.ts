/**
 * Runs the example's wait-for-agent init script for real, with stand-ins for `svid-agent` and
 * `sleep` on the PATH: each `svid-agent` call is recorded (and fails until a chosen call), each
 * `sleep` is recorded and returns at once. So a test sees which commands the script runs, that
 * it stops when the agent is healthy, and how long it would wait at most, without waiting.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { runCli } from '../../src/cli/program.js';

/** What one run of the script did. */
export interface WaitRun {
  /** The script's exit code. */
  readonly code: number | null;
  /** The arguments of every `svid-agent` call, in order. */
  readonly calls: string[][];
  /** The arguments of every `sleep` call, in order. */
  readonly sleeps: string[];
}

/** The shell script of a container written as `command: [/bin/sh, -c]` + `args: [script]`. */
export function waitScriptOf(c: IContainer): string {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (argv.length !== 3 || argv[0] !== '/bin/sh' || argv[1] !== '-c') {
    throw new Error(`${c.name}: expected command [/bin/sh, -c] and the script as its only argument, got ${JSON.stringify(argv)}`);
  }
  return argv[2] as string;
}

const RECORD_CALL = `#!/bin/sh
n=$(($(cat "$SHIM_DIR/count") + 1))
echo "$n" > "$SHIM_DIR/count"
for a in "$@"; do printf '%s\\t' "$a"; done >> "$SHIM_DIR/calls"
echo >> "$SHIM_DIR/calls"
[ "$HEALTHY_ON_CALL" -gt 0 ] && [ "$n" -ge "$HEALTHY_ON_CALL" ]
`;
const RECORD_SLEEP = `#!/bin/sh
echo "$*" >> "$SHIM_DIR/sleeps"
`;

/**
 * Runs `script` with `/bin/sh` and the stand-ins. `healthyOnCall`: the `svid-agent` call that
 * succeeds (1 = the first); 0 (default) = none does, as when no agent ever comes up.
 */
export async function runWaitScript(script: string, options: { healthyOnCall?: number } = {}): Promise<WaitRun> {
  const dir = await mkdtemp(join(tmpdir(), 'svid-agent-wait-'));
  try {
    await writeFile(join(dir, 'count'), '0\n');
    await writeFile(join(dir, 'calls'), '');
    await writeFile(join(dir, 'sleeps'), '');
    await writeFile(join(dir, 'svid-agent'), RECORD_CALL);
    await writeFile(join(dir, 'sleep'), RECORD_SLEEP);
    await chmod(join(dir, 'svid-agent'), 0o755);
    await chmod(join(dir, 'sleep'), 0o755);
    const env = { PATH: `${dir}:/usr/bin:/bin`, SHIM_DIR: dir, HEALTHY_ON_CALL: String(options.healthyOnCall ?? 0) };
    const code = await new Promise<number | null>((resolve) => {
      execFile('/bin/sh', ['-c', script], { env, timeout: 60_000 }, (err) => {
        resolve(err ? (typeof err.code === 'number' ? err.code : null) : 0);
      });
    });
    const lines = (name: string) => readFile(join(dir, name), 'utf8').then((t) => t.split('\n').filter((line) => line !== ''));
    const calls = (await lines('calls')).map((line) => line.replace(/\t$/, '').split('\t'));
    return { code, calls, sleeps: await lines('sleeps') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `svid-agent <argv>` through the real command line in-process and returns its exit code:
 * 0 or 1 mean the arguments were accepted (healthy or not), 2 a usage error.
 */
export async function exitCodeOf(argv: readonly string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await runCli({
    argv,
    env: {},
    cwd: tmpdir(),
    io: {
      out: () => undefined,
      err: (t) => {
        stderr += t;
      },
    },
    readFile: () => {
      throw new Error('no files in this test');
    },
  });
  return { code, stderr };
}
