import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { captureLogger } from '../../test/support/log-capture.js';
import { isAgentError } from '../errors.js';
import { ensureDevCredentials } from './dev-credentials.js';

const base = mkdtempSync(join(tmpdir(), 'svid-agent-dev-'));
after(() => rmSync(base, { recursive: true, force: true }));

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('ensureDevCredentials', () => {
  it('creates the set once, with private modes, in the certs create layout', async () => {
    const devDir = join(base, 'fresh', '.svid-agent');
    const dir = join(devDir, 'credentials');
    const log = captureLogger();
    const paths = await ensureDevCredentials(devDir, { trustDomain: 'cluster.local', logger: log.logger });
    assert.deepEqual(paths, { trustAnchors: join(dir, 'ca-bundle.crt'), issuerDir: join(dir, 'issuer'), jwtKey: join(dir, 'jwt.key') });
    assert.equal(mode(devDir), 0o755, 'other users reach the socket through it');
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, 'issuer')), 0o700);
    for (const key of ['ca.key', 'issuer/tls.key', 'jwt.key']) assert.equal(mode(join(dir, key)), 0o600, key);
    for (const cert of ['ca-bundle.crt', 'issuer/tls.crt']) assert.equal(mode(join(dir, cert)), 0o644, cert);
    execFileSync('openssl', ['verify', '-CAfile', paths.trustAnchors, join(dir, 'issuer/tls.crt')]);
    assert.ok(log.entries.some((e) => e.msg === 'created dev credentials'));
    assert.ok(!log.text().includes('PRIVATE KEY'));
  });

  it('reuses what it created on later starts', async () => {
    const dir = join(base, 'reuse');
    await ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: captureLogger().logger });
    const anchor = readFileSync(join(dir, 'credentials', 'ca-bundle.crt'), 'utf8');
    const log = captureLogger();
    await ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: log.logger });
    assert.equal(readFileSync(join(dir, 'credentials', 'ca-bundle.crt'), 'utf8'), anchor);
    assert.ok(log.entries.some((e) => e.msg === 'reusing dev credentials'));
    assert.ok(!log.entries.some((e) => e.level === 'warn'));
  });

  it('warns when the existing set was made for another trust domain', async () => {
    const dir = join(base, 'other-td');
    await ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: captureLogger().logger });
    const log = captureLogger();
    await ensureDevCredentials(dir, { trustDomain: 'example.org', logger: log.logger });
    assert.ok(log.entries.some((e) => e.level === 'warn' && e.trust_domain === 'example.org'));
  });

  it('refuses to mix a partial set with new files, naming what is missing', async () => {
    const dir = join(base, 'partial');
    await ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: captureLogger().logger });
    unlinkSync(join(dir, 'credentials', 'jwt.key'));
    unlinkSync(join(dir, 'credentials', 'issuer', 'tls.key'));
    await assert.rejects(
      ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: captureLogger().logger }),
      (err: unknown) =>
        isAgentError(err, 'CREDENTIALS_INVALID') &&
        err.message.includes('incomplete: issuer/tls.key, jwt.key missing') &&
        err.message.includes(`delete ${dir}`),
    );
  });

  it('sets a pre-existing directory to 0755 and its credentials directory to 0700', async () => {
    const dir = join(base, 'loose');
    mkdirSync(join(dir, 'credentials'), { recursive: true });
    chmodSync(dir, 0o777);
    chmodSync(join(dir, 'credentials'), 0o755);
    writeFileSync(join(dir, 'unrelated.txt'), 'x');
    await ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: captureLogger().logger });
    assert.equal(mode(dir), 0o755);
    assert.equal(mode(join(dir, 'credentials')), 0o700);
  });

  it('moves a set an earlier version left directly in the dev directory into credentials/', async () => {
    const dir = join(base, 'earlier');
    const made = await ensureDevCredentials(join(base, 'donor'), { trustDomain: 'cluster.local', logger: captureLogger().logger });
    mkdirSync(join(dir, 'issuer'), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    for (const [from, to] of [
      [made.trustAnchors, 'ca-bundle.crt'],
      [join(made.issuerDir, '..', 'ca.key'), 'ca.key'],
      [join(made.issuerDir, 'tls.crt'), 'issuer/tls.crt'],
      [join(made.issuerDir, 'tls.key'), 'issuer/tls.key'],
      [made.jwtKey, 'jwt.key'],
    ] as const) {
      writeFileSync(join(dir, to), readFileSync(from), { mode: to.endsWith('.key') ? 0o600 : 0o644 });
    }
    const anchor = readFileSync(join(dir, 'ca-bundle.crt'), 'utf8');
    const log = captureLogger();
    const paths = await ensureDevCredentials(dir, { trustDomain: 'cluster.local', logger: log.logger });
    assert.equal(readFileSync(paths.trustAnchors, 'utf8'), anchor);
    assert.equal(mode(dir), 0o755);
    assert.equal(mode(join(dir, 'credentials')), 0o700);
    for (const gone of ['ca-bundle.crt', 'ca.key', 'jwt.key', 'issuer']) assert.equal(existsSync(join(dir, gone)), false, gone);
    for (const key of ['ca.key', 'issuer/tls.key', 'jwt.key']) assert.equal(mode(join(dir, 'credentials', key)), 0o600, key);
    assert.ok(log.entries.some((e) => e.msg === 'reusing dev credentials'));
  });
});
