/**
 * `svid-agent api fetch jwt` and `api validate jwt` as users run them: child processes of the
 * CLI against a real agent, checked by exit code and by what they print
 * (spire-agent's layout: `token(<id>):\n\t<jwt>`, `bundle(<td>):\n\t<jwks>`, `SVID is valid.`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { createJwtSigningKey } from '../../src/issuer/index.js';
import { startTestAgent, type TestAgent } from '../support/agent-harness.js';
import { runCli } from '../support/cli-process.js';

const ROOT_ID = 'spiffe://cluster.local/ns/local/sa/root';

/** Runs the CLI asynchronously: the agent serving it lives in this process. */
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

describe('svid-agent api fetch jwt / validate jwt', () => {
  let keyDir: string;
  let agent: TestAgent;
  before(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'svid-agent-jwt-cli-'));
    await writeFile(join(keyDir, 'jwt.key'), createJwtSigningKey().privateKeyPem, { mode: 0o600 });
    agent = await startTestAgent({ jwtKey: join(keyDir, 'jwt.key') });
  });
  after(async () => {
    await agent.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  const socket = () => ['--socket', agent.socketPath];

  test('fetch jwt prints the token and the bundle like spire-agent; validate jwt accepts the token', async () => {
    const r = await cli(['api', 'fetch', 'jwt', '--audience', 'a,b', ...socket()]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^token\((\S+)\):\n\t(\S+)\nbundle\(spiffe:\/\/cluster\.local\):\n\t(\{[\s\S]*\})\n$/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const [, id, token, jwks] = m as unknown as [string, string, string, string];
    assert.equal(id, ROOT_ID);
    assert.deepEqual(decodeJwt(token).aud, ['a', 'b']);
    assert.ok(jwks.startsWith('{\n    "keys": ['), 'the JWKS as the agent serves it');

    const valid = await cli(['api', 'validate', 'jwt', '--audience', 'b', '--svid', token, ...socket()]);
    assert.equal(valid.code, 0, valid.stderr);
    const lines = valid.stdout.split('\n');
    assert.deepEqual(lines.slice(0, 2), ['SVID is valid.', `SPIFFE ID : ${ROOT_ID}`]);
    assert.ok(lines[2]?.startsWith('Claims    : '), valid.stdout);
    const claims = JSON.parse((lines[2] as string).slice('Claims    : '.length)) as Record<string, unknown>;
    assert.deepEqual(claims, decodeJwt(token));

    const invalid = await cli(['api', 'validate', 'jwt', '--audience', 'c', '--svid', token, ...socket()]);
    assert.equal(invalid.code, 1);
    assert.equal(invalid.stdout, '');
    assert.equal(invalid.stderr, 'svid-agent: SVID is not valid: expected audience in ["c"] (audience=["a" "b"])\n');
    assert.equal(
      (await cli(['api', 'validate', 'jwt', '--audience', 'a', '--svid', 'garbage', ...socket()])).stderr,
      'svid-agent: SVID is not valid: unable to parse JWT token: compact JWS format must have three parts\n',
    );
  });

  test('--output json is the pair [svids, bundles] with proto field names, as spire-agent prints it', async () => {
    const r = await cli(['api', 'fetch', 'jwt', '--audience', 'x', '--output', 'json'], {
      SPIFFE_ENDPOINT_SOCKET: `unix://${agent.socketPath}`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').length, 2, 'one line of JSON and a newline');
    const [svids, bundles] = JSON.parse(r.stdout) as [
      { svids: Array<{ spiffe_id: string; svid: string; hint: string }> },
      { bundles: Record<string, string> },
    ];
    assert.equal(svids.svids[0]?.spiffe_id, ROOT_ID);
    assert.equal(svids.svids[0]?.hint, '');
    assert.deepEqual(decodeJwt(svids.svids[0]?.svid as string).aud, ['x']);
    const jwks = JSON.parse(Buffer.from(bundles.bundles['spiffe://cluster.local'] as string, 'base64').toString()) as { keys: unknown[] };
    assert.equal(jwks.keys.length, 1);

    const valid = await cli([
      'api',
      'validate',
      'jwt',
      '--audience',
      'x',
      '--svid',
      svids.svids[0]?.svid as string,
      '--output',
      'json',
      ...socket(),
    ]);
    assert.equal(valid.code, 0, valid.stderr);
    const checked = JSON.parse(valid.stdout) as { spiffe_id: string; claims: Record<string, unknown> };
    assert.deepEqual(Object.keys(checked), ['claims', 'spiffe_id']);
    assert.equal(checked.spiffe_id, ROOT_ID);
    assert.deepEqual(checked.claims.aud, ['x']);
  });

  test('--spiffe-id of another identity exits 1 with PERMISSION_DENIED explained', async () => {
    const r = await cli(['api', 'fetch', 'jwt', '--audience', 'a', '--spiffe-id', 'spiffe://cluster.local/ns/x/sa/y', ...socket()]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'svid-agent: fetching the JWT-SVID failed: the agent issued no identity to this process (PERMISSION_DENIED: no identity issued)\n',
    );
  });
});
