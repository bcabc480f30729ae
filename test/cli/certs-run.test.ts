/**
 * `certs create` prints the commands that use what it wrote; a newcomer pastes them into a
 * shell. This test does exactly that: it runs the printed lines through `sh` in the same
 * directory and checks the agent serves SVIDs of the trust domain the certificates were made for.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { svidAgentArgv } from '../support/svid-agent-command.js';

const work = mkdtempSync(join(tmpdir(), 'svid-agent-certs-run-'));
const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** The environment a user's shell would have: `node` on the PATH, none of our variables set. */
function shellEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  for (const name of ['SPIFFE_ENDPOINT_SOCKET', 'SVID_AGENT_SOCKET', 'NODE_NAME', 'KUBECONFIG']) delete env[name];
  return env;
}

/** The indented command printed on the line after the one starting with `intro`. */
function printedCommand(stdout: string, intro: string): string {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(intro));
  const command = lines[at + 1] ?? '';
  assert.ok(at >= 0 && command.startsWith('  '), `no command after "${intro}" in:\n${stdout}`);
  return command.trim();
}

test('certs create --trust-domain example.org prints a run command that works as printed and keeps the trust domain', async () => {
  const created = await runCli(['certs', 'create', '--out', 'certs', '--trust-domain', 'example.org'], { cwd: work });
  assert.equal(created.code, 0, created.stderr);
  const run = printedCommand(created.stdout, 'Run the agent on this machine');
  const fetch = printedCommand(created.stdout, 'and fetch an SVID');
  assert.match(run, / run .*--trust-domain example\.org/);
  assert.match(created.stdout, /set --trust-domain=example\.org in daemonset\/daemonset\.yaml/);

  const agent = spawn('sh', ['-c', `exec ${run}`], { cwd: work, env: shellEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(agent);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    agent.stderr?.on('data', (d) => {
      stderr += String(d);
      if (stderr.includes('listening on workload api socket')) resolve();
    });
    agent.once('exit', (code) => reject(new Error(`the printed run command exited ${code}:\n${stderr}`)));
  });
  agent.stdout?.resume();

  const fetched = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile('sh', ['-c', fetch], { cwd: work, env: shellEnv() }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
  assert.equal(fetched.code, 0, fetched.stderr);
  assert.match(fetched.stdout, /^SPIFFE ID:\t\tspiffe:\/\/example\.org\/ns\/local\/sa\/root$/m);

  agent.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
});

test('the printed commands start with the program as it was run, and quote paths a shell would split', async () => {
  const created = await runCli(['certs', 'create', '--out', 'my certs'], { cwd: work });
  assert.equal(created.code, 0, created.stderr);
  const run = printedCommand(created.stdout, 'Run the agent on this machine');
  // The program as this test ran it: the sources through tsx (users run bin/svid-agent.js).
  const self = ['node', ...svidAgentArgv([])].join(' ');
  assert.ok(run.startsWith(`${self} run --trust-anchors 'my certs/ca-bundle.crt' `), run);
  assert.doesNotMatch(run, /--trust-domain/, 'the default trust domain needs no flag');
});
