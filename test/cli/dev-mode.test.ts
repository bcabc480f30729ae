/**
 * `svid-agent run --dev` as a newcomer runs it: a child process in a fresh directory, reached by
 * other local users, with no TCP port taken unless `--health-addr` asks for one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CliProcess, runCli, startCli } from '../support/cli-process.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'svid-agent-dev-mode-'));
// mkdtemp makes 0700; a checkout other users may reach is at least 0755 up to the root.
chmodSync(work, 0o755);
const running: CliProcess[] = [];
after(async () => {
  for (const agent of running) await agent.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Starts `run --dev` in `cwd` and waits until it says it serves. */
async function startDev(cwd: string, ...args: string[]): Promise<CliProcess> {
  const agent = startCli(['run', '--dev', ...args], { cwd });
  running.push(agent);
  await agent.waitFor(({ stdout }) => stdout.includes('svid-agent is serving on'), 'the dev agent to serve');
  return agent;
}

function newDir(name: string): string {
  const dir = join(work, name);
  spawnSync('mkdir', ['-m', '755', dir]);
  return dir;
}

/** What the agent logs when its HTTP listener is up. */
const HTTP_STARTED = '"msg":"serving health and metrics"';

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('run --dev', () => {
  it('lets another local user fetch the SVID the unix attestor names it by, and keeps the keys private', {
    skip: isRoot ? false : 'needs root to run a client as user nobody',
  }, async () => {
    const cwd = newDir('shared');
    await startDev(cwd);
    const devDir = join(cwd, '.svid-agent');
    const socket = join(devDir, 'agent.sock');
    assert.equal(mode(devDir), 0o755);
    assert.equal(mode(join(devDir, 'credentials')), 0o700);
    for (const key of ['ca.key', 'issuer/tls.key', 'jwt.key']) assert.equal(mode(join(devDir, 'credentials', key)), 0o600, key);

    const r = await runCli(['api', 'fetch', 'x509', '--socket', socket], { cwd: '/', uid: NOBODY, gid: NOBODY });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SPIFFE ID:\t\tspiffe:\/\/cluster\.local\/ns\/local\/sa\/nobody$/m);

    const peek = spawnSync('ls', [join(devDir, 'credentials')], { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
    assert.notEqual(peek.status, 0, 'nobody must not list the credentials directory');
    assert.match(peek.stderr, /Permission denied/);
  });

  it('takes no TCP port: two dev agents start side by side while something else holds 127.0.0.1:9090', async () => {
    // Whether this listen succeeds or 9090 is already taken, the port is in use while the agents start.
    const holder: Server = createServer();
    await new Promise<void>((resolve) => {
      holder.once('error', () => resolve());
      holder.listen(9090, '127.0.0.1', () => resolve());
    });
    try {
      const first = await startDev(newDir('first'));
      const second = await startDev(newDir('second'));
      for (const agent of [first, second]) {
        assert.ok(!agent.stderr().includes(HTTP_STARTED), agent.stderr());
        assert.equal(agent.child.exitCode, null);
      }
      const r = await runCli(['healthcheck', '--socket', join(work, 'second', '.svid-agent', 'agent.sock')]);
      assert.equal(r.code, 0, r.stderr);
      // The command it prints works as printed, from the directory it was started in.
      const printed = /fetch an SVID with: (.+)$/m.exec(second.stdout())?.[1] ?? '';
      // Tests run the sources (node --import <tsx> src/cli/main.ts); users run bin/svid-agent.js.
      assert.match(
        printed,
        /^node (?:\S+ )*\S+(?:bin\/svid-agent\.js|src\/cli\/main\.ts) api fetch x509 --socket \.svid-agent\/agent\.sock$/,
      );
      const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` };
      const fetched = spawnSync('sh', ['-c', printed], { cwd: join(work, 'second'), env, encoding: 'utf8' });
      assert.equal(fetched.status, 0, fetched.stderr);
      assert.match(fetched.stdout, /^SPIFFE ID:\t\tspiffe:\/\/cluster\.local\/ns\/local\/sa\/root$/m);
    } finally {
      holder.close();
    }
  });

  it('listens on --health-addr when asked', async () => {
    const agent = await startDev(newDir('with-health'), '--health-addr', '127.0.0.1:0');
    // Logged before the stdout line, but logs are written asynchronously.
    await agent.waitFor(({ stderr }) => stderr.includes(HTTP_STARTED), 'the health listener');
  });
});
