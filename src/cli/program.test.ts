import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CliContext, resolveClientSocket, runCli } from './program.js';
import type { RunConfig } from './run-config.js';

function context(argv: string[], over: Partial<CliContext> = {}): CliContext & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    argv,
    env: {},
    cwd: '/work/app',
    io: {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    },
    readFile: () => {
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    },
    stdout: () => out,
    stderr: () => err,
    ...over,
  };
}

describe('runCli run', () => {
  it('hands the loaded config to runAgent and returns its exit code', async () => {
    const seen: RunConfig[] = [];
    const ctx = context(['run', '--dev', '--token-path', '/a', '--token-path', '/b', '--health-addr', ''], {
      runAgent: async (config) => {
        seen.push(config);
        return 1;
      },
    });
    assert.equal(await runCli(ctx), 1);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.socket, '/work/app/.svid-agent/agent.sock');
    assert.deepEqual(seen[0]?.tokenPaths, ['/a', '/b']);
    assert.equal(seen[0]?.healthAddr, '');
  });

  it('does not start the agent on a config error, prints one line per problem and returns 2', async () => {
    let started = false;
    const ctx = context(['run', '--svid-ttl', 'x', '--attestor', 'y'], {
      runAgent: async () => {
        started = true;
        return 0;
      },
    });
    assert.equal(await runCli(ctx), 2);
    assert.equal(started, false);
    const lines = ctx.stderr().trimEnd().split('\n');
    assert.ok(lines.length >= 4);
    for (const line of lines) assert.match(line, /^svid-agent: (--[a-z-]+|NODE_NAME): /);
  });

  it('reads SVID_AGENT_SOCKET and NODE_NAME from the injected env', async () => {
    const seen: RunConfig[] = [];
    const ctx = context(['run', '--trust-anchors', 'a.pem', '--issuer-dir', 'i'], {
      env: { SVID_AGENT_SOCKET: '/run/x.sock', NODE_NAME: 'n1' },
      runAgent: async (config) => {
        seen.push(config);
        return 0;
      },
    });
    assert.equal(await runCli(ctx), 0);
    assert.equal(seen[0]?.socket, '/run/x.sock');
    assert.equal(seen[0]?.nodeName, 'n1');
  });

  it('a usage error returns 2 without starting anything', async () => {
    const ctx = context(['run', '--nope']);
    assert.equal(await runCli(ctx), 2);
    assert.match(ctx.stderr(), /^error: unknown option '--nope'\n/);
  });
});

describe('resolveClientSocket', () => {
  const cwd = '/work';
  it('defaults to /run/svid-agent/agent.sock', () =>
    assert.equal(resolveClientSocket(undefined, { env: {}, cwd }), '/run/svid-agent/agent.sock'));
  it('reads SPIFFE_ENDPOINT_SOCKET in both unix: forms', () => {
    assert.equal(resolveClientSocket(undefined, { env: { SPIFFE_ENDPOINT_SOCKET: 'unix:///run/a.sock' }, cwd }), '/run/a.sock');
    assert.equal(resolveClientSocket(undefined, { env: { SPIFFE_ENDPOINT_SOCKET: 'unix:/run/b.sock' }, cwd }), '/run/b.sock');
  });
  it('--socket wins and may be relative', () => {
    assert.equal(resolveClientSocket('x.sock', { env: { SPIFFE_ENDPOINT_SOCKET: 'unix:///run/a.sock' }, cwd }), '/work/x.sock');
  });
  it('names the variable when it is unusable', () => {
    assert.throws(
      () => resolveClientSocket(undefined, { env: { SPIFFE_ENDPOINT_SOCKET: 'unix://host/a.sock' }, cwd }),
      /SPIFFE_ENDPOINT_SOCKET: "unix:\/\/host\/a\.sock" must not have an authority/,
    );
  });
});
