/**
 * Credential files as an operator (or a mistake) can set them up (issue 15): a FIFO or /dev/zero
 * where a key (or the --config file) should be, an oversized bundle, and an agent out of file
 * descriptors. The agent
 * must say what is wrong and never hang, and an fd-starved agent must not claim files are missing.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './support/cli-process.js';

const CHILD = fileURLToPath(new URL('./support/fd-exhaustion-child.ts', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'svid-agent-credfiles-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('credential files that are not regular files, or too large', () => {
  let creds: string;
  before(async () => {
    creds = join(work, 'creds');
    const r = await runCli(['certs', 'create', '--out', creds]);
    assert.equal(r.code, 0, r.stderr);
  });

  const run = (over: { anchors?: string; issuerDir?: string; jwtKey?: string }) =>
    runCli([
      'run',
      '--attestor',
      'unix',
      '--socket',
      join(work, `agent-${Math.random().toString(36).slice(2)}.sock`),
      '--health-addr',
      '',
      '--trust-anchors',
      over.anchors ?? join(creds, 'ca-bundle.crt'),
      '--issuer-dir',
      over.issuerDir ?? join(creds, 'issuer'),
      '--jwt-key',
      over.jwtKey ?? join(creds, 'jwt.key'),
    ]);

  it('a FIFO as the JWT key: run exits 2 at once naming it, instead of hanging', async () => {
    const fifo = join(work, 'jwt.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await run({ jwtKey: fifo });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`JWT signing key ${fifo} is a fifo, not a regular file`));
  });

  it('/dev/zero as the issuer key: run exits 2 naming it', async () => {
    const issuerDir = join(work, 'zero-issuer');
    execFileSync('cp', ['-r', join(creds, 'issuer'), issuerDir]);
    unlinkSync(join(issuerDir, 'tls.key'));
    symlinkSync('/dev/zero', join(issuerDir, 'tls.key'));
    const r = await run({ issuerDir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /issuer key \S+tls\.key is a character device, not a regular file/);
  });

  it('a FIFO as --config: run and validate exit 2 at once naming it, instead of hanging', async () => {
    const fifo = join(work, 'agent.yaml.fifo');
    execFileSync('mkfifo', [fifo]);
    for (const command of ['run', 'validate']) {
      const r = await runCli([command, '--dev', '--config', fifo]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`--config: cannot read "${fifo}": is a fifo, not a regular file`));
    }
  });

  it('a trust-anchor file over 1 MiB: run exits 2 naming the limit', async () => {
    const big = join(work, 'big.crt');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1, 0x0a));
    const r = await run({ anchors: big });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`trust anchors ${big} is larger than 1048576 bytes`));
  });
});

describe('an agent out of file descriptors', () => {
  it('says it cannot read the credentials now and keeps the current ones (never "holds neither")', async () => {
    const creds = join(work, 'fd-creds');
    assert.equal((await runCli(['certs', 'create', '--out', creds])).code, 0);
    const args = ['--import', 'tsx', CHILD, join(creds, 'ca-bundle.crt'), join(creds, 'issuer')];
    // `ulimit -n` in a shell, then exec node: the limit applies to the child only.
    const child = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += String(d);
    });
    child.stderr.on('data', (d) => {
      stderr += String(d);
    });
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as {
      held: number;
      issuer: { code: string; message: string };
      anchors: { code: string; message: string };
      issuerKept: boolean;
      log: Array<{ level: number; msg: string; error?: string }>;
    };
    assert.ok(result.held > 0);
    assert.equal(result.issuer.code, 'CREDENTIALS_UNREADABLE', result.issuer.message);
    assert.match(result.issuer.message, /^cannot read issuer (certificate|key) \S+ now: EMFILE$/);
    assert.equal(result.anchors.code, 'CREDENTIALS_UNREADABLE');
    assert.match(result.anchors.message, /^cannot read trust anchors \S+ now: EMFILE$/);
    assert.ok(result.issuerKept);
    assert.ok(
      result.log.some((l) => l.msg === 'cannot read credential files now; keeping the current credentials' && /EMFILE/.test(l.error ?? '')),
      JSON.stringify(result.log),
    );
    assert.ok(!JSON.stringify(result).includes('holds neither'));
  });
});
