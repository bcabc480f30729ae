/**
 * The `svid-agent` command as users run it: a child process (from the sources), checked by
 * exit code and by what it prints (docs/cli.md: 0 success, 1 runtime failure, 2 usage/config error).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type CliResult, runCli } from '../support/cli-process.js';
import { spawnSvidAgent } from '../support/svid-agent-command.js';

const work = mkdtempSync(join(tmpdir(), 'svid-agent-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));

type Result = CliResult;

const cli = (args: string[], env: Record<string, string> = {}): Promise<Result> => runCli(args, { env, cwd: work });

/** No stack traces, ever: a line starting with "at " is one. */
function assertNoStack(r: Result): void {
  assert.ok(!/^\s+at /m.test(r.stderr), `stack trace on stderr:\n${r.stderr}`);
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('svid-agent run: configuration errors exit 2 and name the key', () => {
  it('reports every bad flag at once, one line each', async () => {
    const r = await cli(['run', '--svid-ttl', '5x', '--attestor', 'docker', '--health-addr', 'nope', '--log-level', 'loud']);
    assert.equal(r.code, 2);
    assertNoStack(r);
    const lines = r.stderr.trim().split('\n');
    for (const key of ['--trust-anchors', '--issuer-dir', '--attestor', '--svid-ttl', '--health-addr', '--log-level']) {
      assert.ok(
        lines.some((l) => l.startsWith(`svid-agent: ${key}: `)),
        `no line names ${key}:\n${r.stderr}`,
      );
    }
    assert.equal(r.stdout, '');
  });

  it('names config-file keys with the file, including wrong types and unknown keys', async () => {
    writeFileSync(join(work, 'bad.yaml'), 'svidTtl: 60\nsocket: [/a]\ntrustDomian: x\nminRefresh: 5x\n');
    const r = await cli(['run', '--dev', '--config', 'bad.yaml']);
    assert.equal(r.code, 2);
    assertNoStack(r);
    assert.match(r.stderr, /^svid-agent: bad\.yaml: svidTtl: expected a duration string like "90s", got the number 60/m);
    assert.match(r.stderr, /^svid-agent: bad\.yaml: socket: expected a string, got a list$/m);
    assert.match(r.stderr, /^svid-agent: bad\.yaml: trustDomian: unknown key$/m);
    assert.match(r.stderr, /^svid-agent: bad\.yaml: minRefresh: invalid duration "5x"/m);
  });

  it('reads NODE_NAME and names it when it is bad', async () => {
    const r = await cli(['run', '--trust-anchors', 'a.pem', '--issuer-dir', 'issuer'], { NODE_NAME: 'Bad_Node' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^svid-agent: NODE_NAME: invalid node name "Bad_Node"/m);
  });

  it('a missing --config file is a configuration error', async () => {
    const r = await cli(['run', '--dev', '--config', 'nope.yaml']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^svid-agent: --config: cannot read "nope\.yaml": no such file or directory$/m);
  });
});

describe('usage errors exit 2', () => {
  for (const args of [
    ['run', '--bogus'],
    ['frobnicate'],
    ['api', 'fetch', 'x509', '--output', 'yaml'],
    ['run', '--svid-ttl'],
    ['certs', 'create', 'extra-arg', '--out', 'x'],
  ]) {
    it(args.join(' '), async () => {
      const r = await cli(args);
      assert.equal(r.code, 2, r.stderr);
      assertNoStack(r);
      assert.match(r.stderr, /error: /);
    });
  }

  it('--help exits 0 and lists the commands', async () => {
    const r = await cli(['--help']);
    assert.equal(r.code, 0);
    for (const name of ['run', 'api', 'healthcheck', 'certs']) assert.match(r.stdout, new RegExp(`\\n  ${name}\\b`));
  });

  it('jwt commands: missing required flags exit 2 naming them; no agent exits 1 naming the socket', async () => {
    const usage = await cli(['api', 'validate', 'jwt']);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, 'svid-agent: --audience: audience must be specified\nsvid-agent: --svid: svid must be specified\n');
    assert.equal((await cli(['api', 'fetch', 'jwt', '--audience', ' , '])).code, 2);
    const missing = join(work, 'no-agent.sock');
    const r = await cli(['api', 'fetch', 'jwt', '--audience', 'a', '--socket', missing]);
    assert.equal(r.code, 1);
    assertNoStack(r);
    assert.equal(
      r.stderr,
      `svid-agent: no Workload API socket at ${missing} (is the agent running? use --socket or SPIFFE_ENDPOINT_SOCKET)\n`,
    );
  });
});

describe('svid-agent certs create', () => {
  it('writes the Linkerd layout with private keys, and the issuer verifies against the anchor', async () => {
    const r = await cli(['certs', 'create', '--out', 'creds', '--trust-domain', 'example.org', '--issuer-ttl', '720h']);
    assert.equal(r.code, 0, r.stderr);
    const out = join(work, 'creds');
    for (const key of ['ca.key', 'issuer/tls.key', 'jwt.key']) {
      assert.equal(mode(join(out, key)), 0o600, key);
      assert.match(readFileSync(join(out, key), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    }
    for (const cert of ['ca-bundle.crt', 'issuer/tls.crt']) assert.equal(mode(join(out, cert)), 0o644, cert);
    execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca-bundle.crt'), join(out, 'issuer/tls.crt')]);
    const issuer = execFileSync('openssl', ['x509', '-in', join(out, 'issuer/tls.crt'), '-noout', '-subject', '-enddate'], {
      encoding: 'utf8',
    });
    assert.match(issuer, /subject=CN ?= ?identity\.linkerd\.example\.org/);
    const enddate = Date.parse(issuer.split('notAfter=')[1] ?? '');
    assert.ok(Math.abs(enddate - (Date.now() + 720 * 3_600_000)) < 5 * 60_000, issuer);
    const anchor = execFileSync('openssl', ['x509', '-in', join(out, 'ca-bundle.crt'), '-noout', '-subject'], { encoding: 'utf8' });
    assert.match(anchor, /subject=CN ?= ?root\.linkerd\.example\.org/);
    assert.match(r.stdout, / run --trust-anchors creds\/ca-bundle\.crt --issuer-dir creds\/issuer --jwt-key creds\/jwt\.key /);
    assert.ok(!r.stdout.includes('PRIVATE KEY'));
  });

  it('refuses to overwrite (exit 2, files unchanged) unless --force', async () => {
    const out = join(work, 'twice');
    assert.equal((await cli(['certs', 'create', '--out', out])).code, 0);
    const before = readFileSync(join(out, 'ca-bundle.crt'), 'utf8');
    const again = await cli(['certs', 'create', '--out', out]);
    assert.equal(again.code, 2);
    assert.match(
      again.stderr,
      /^svid-agent: --out: refusing to overwrite existing files in .*twice: ca-bundle\.crt, ca\.key, issuer\/tls\.crt, issuer\/tls\.key, jwt\.key \(use --force to replace them\)\n$/,
    );
    assert.equal(readFileSync(join(out, 'ca-bundle.crt'), 'utf8'), before);
    const forced = await cli(['certs', 'create', '--out', out, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(join(out, 'ca-bundle.crt'), 'utf8'), before);
  });

  it('refuses when even one file of the set exists', async () => {
    const out = join(work, 'one');
    mkdirSync(join(out, 'issuer'), { recursive: true });
    writeFileSync(join(out, 'issuer', 'tls.key'), 'precious');
    const r = await cli(['certs', 'create', '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refusing to overwrite existing files in .*: issuer\/tls\.key /);
    assert.equal(readFileSync(join(out, 'issuer', 'tls.key'), 'utf8'), 'precious');
  });

  it('bad flags exit 2 and are all named', async () => {
    const r = await cli(['certs', 'create', '--trust-domain', 'Not Valid', '--issuer-ttl', 'forever']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^svid-agent: --out: required/m);
    assert.match(r.stderr, /^svid-agent: --trust-domain: invalid trust domain "Not Valid"/m);
    assert.match(r.stderr, /^svid-agent: --issuer-ttl: invalid duration "forever"/m);
  });
});

describe('svid-agent api fetch x509', () => {
  it('a missing socket exits 1 with one clear line', async () => {
    const r = await cli(['api', 'fetch', 'x509', '--socket', 'nowhere.sock']);
    assert.equal(r.code, 1);
    assertNoStack(r);
    assert.equal(
      r.stderr,
      `svid-agent: no Workload API socket at ${join(work, 'nowhere.sock')} (is the agent running? use --socket or SPIFFE_ENDPOINT_SOCKET)\n`,
    );
  });

  it('honours SPIFFE_ENDPOINT_SOCKET, and --socket wins over it', async () => {
    const fromEnv = await cli(['api', 'fetch', 'x509'], { SPIFFE_ENDPOINT_SOCKET: 'unix:///tmp/svid-agent-test-env.sock' });
    assert.equal(fromEnv.code, 1);
    assert.match(fromEnv.stderr, /no Workload API socket at \/tmp\/svid-agent-test-env\.sock /);
    const fromFlag = await cli(['api', 'fetch', '--socket', '/tmp/svid-agent-test-flag.sock'], {
      SPIFFE_ENDPOINT_SOCKET: 'unix:///tmp/x.sock',
    });
    assert.match(fromFlag.stderr, /no Workload API socket at \/tmp\/svid-agent-test-flag\.sock /);
  });

  it('rejects a SPIFFE_ENDPOINT_SOCKET that is not unix: with exit 2', async () => {
    const r = await cli(['api', 'fetch', 'x509'], { SPIFFE_ENDPOINT_SOCKET: 'tcp://127.0.0.1:8000' });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'svid-agent: SPIFFE_ENDPOINT_SOCKET: unsupported scheme "tcp:" (only unix: sockets are supported, e.g. unix:///run/svid-agent/agent.sock)\n',
    );
  });

  it('a bad --timeout exits 2', async () => {
    const r = await cli(['api', 'fetch', 'x509', '--timeout', 'soon']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^svid-agent: --timeout: invalid duration "soon"/);
  });
});

describe('output to a reader that goes away', () => {
  it('exits quietly on EPIPE, with no stack trace', async () => {
    const child = spawnSvidAgent(['run', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.destroy(); // like `| head -0`: the read end is closed before anything is written
    let stderr = '';
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
    assertNoStack({ code, stdout: '', stderr });
  });
});
