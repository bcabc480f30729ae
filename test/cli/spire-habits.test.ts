/**
 * A SPIRE user's habits, as they would type them: SPIRE's single-dash flag spellings,
 * `--version`, `validate`, and a "did you mean" for near misses. Child processes of
 * the CLI against a real agent, with real files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createJwtSigningKey } from '../../src/issuer/index.js';
import { startTestAgent, type TestAgent } from '../support/agent-harness.js';
import { runCli } from '../support/cli-process.js';

const ROOT_ID = 'spiffe://cluster.local/ns/local/sa/root';
const work = mkdtempSync(join(tmpdir(), 'svid-agent-spire-habits-'));
after(() => rmSync(work, { recursive: true, force: true }));

const cli = (args: string[]) => runCli(args, { cwd: work });

describe("SPIRE's flag spellings", () => {
  let agent: TestAgent;
  before(async () => {
    writeFileSync(join(work, 'jwt.key'), createJwtSigningKey().privateKeyPem, { mode: 0o600 });
    agent = await startTestAgent({ jwtKey: join(work, 'jwt.key') });
  });
  after(() => agent.close());

  test('api fetch x509 -socketPath -write -output json -timeout', async () => {
    const r = await cli(['api', 'fetch', 'x509', '-socketPath', agent.socketPath, '-write', 'out', '-output', 'json', '-timeout', '5s']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { svids: Array<{ spiffe_id: string }> }).svids[0]?.spiffe_id, ROOT_ID);
    assert.ok(existsSync(join(work, 'out', 'svid.0.key')));
  });

  test("Go's other forms: two dashes, and -name=value", async () => {
    const r = await cli(['api', 'fetch', `--socketPath=${agent.socketPath}`, '-silent']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
  });

  test('api fetch jwt -audience -spiffeID, then api validate jwt -audience -svid', async () => {
    const fetched = await cli([
      'api',
      'fetch',
      'jwt',
      '-audience',
      'a',
      '-spiffeID',
      ROOT_ID,
      '-socketPath',
      agent.socketPath,
      '-format',
      'json',
    ]);
    assert.equal(fetched.code, 0, fetched.stderr);
    const [svids] = JSON.parse(fetched.stdout) as [{ svids: Array<{ svid: string }> }];
    const token = svids.svids[0]?.svid as string;
    const valid = await cli(['api', 'validate', 'jwt', '-audience', 'a', '-svid', token, '-socketPath', agent.socketPath]);
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /^SVID is valid\.\n/);
  });

  test('a value that looks like a SPIRE flag is left alone', async () => {
    const r = await cli(['api', 'validate', 'jwt', '-audience', '-socketPath', '-svid', 'x.y.z', '-socketPath', agent.socketPath]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^svid-agent: SVID is not valid: /);
  });

  test('healthcheck -socketPath', async () => {
    const r = await cli(['healthcheck', '-socketPath', agent.socketPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'Agent is healthy.\n');
  });
});

describe('--version', () => {
  test('prints the package version and exits 0, in each spelling', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-version', '-v']) {
      const r = await cli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });
});

describe('svid-agent validate', () => {
  test('exit 0 for a configuration run would start with; nothing is started', async () => {
    assert.equal((await cli(['certs', 'create', '--out', 'certs'])).code, 0);
    writeFileSync(
      join(work, 'agent.yaml'),
      'trustAnchors: certs/ca-bundle.crt\nissuerDir: certs/issuer\njwtKey: certs/jwt.key\nattestor: unix\nsocket: validate.sock\n',
    );
    const r = await cli(['validate', '-config', 'agent.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'svid-agent configuration is valid.\n');
    assert.equal(existsSync(join(work, 'validate.sock')), false);
  });

  test('exit 2 naming every problem: bad values, and credential files that do not load', async () => {
    const r = await cli([
      'validate',
      '--trust-anchors',
      'certs/ca-bundle.crt',
      '--issuer-dir',
      'certs',
      '--jwt-key',
      'certs/ca-bundle.crt',
      '--attestor',
      'unix',
    ]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^svid-agent: --issuer-dir: issuer directory .*certs holds neither tls\.crt\+tls\.key nor crt\.pem\+key\.pem$/m);
    assert.match(r.stderr, /^svid-agent: --jwt-key: JWT signing key .*ca-bundle\.crt holds no private key/m);
  });

  test('--dev before its first run is valid: it will make its credentials', async () => {
    const r = await cli(['validate', '--dev']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `svid-agent configuration is valid. (--dev will create its credentials in ${join(work, '.svid-agent')})\n`);
  });
});

describe('did you mean', () => {
  for (const [args, suggestion] of [
    [['api', 'fetch', 'x509', '--socket-path', 'x'], '--socket'],
    [['api', 'fetch', 'jwt', '--spiffeid', 'x'], '--spiffe-id'],
    [['healthcheck', '-socketpath', 'x'], '--socket'],
    [['run', '--trustDomain', 'x'], '--trust-domain'],
    [['run', '--sockt', 'x'], '--socket'],
  ] as const) {
    test(`${args.join(' ')} → ${suggestion}`, async () => {
      const r = await cli([...args]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, new RegExp(`^error: unknown option '${args[args.length - 2]}'\\n\\(Did you mean ${suggestion}\\?\\)\\n`));
    });
  }
});
