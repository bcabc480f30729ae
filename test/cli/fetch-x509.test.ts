/**
 * `fetchX509Once` and `api fetch x509` against a small fake Workload API server on a temp unix
 * socket (the real agent's end-to-end test lives with the agent).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { CliIo } from '../../src/cli/cli-io.js';
import { runFetchX509 } from '../../src/cli/fetch-x509.js';
import { fetchX509Once, SECURITY_HEADER_KEY, WorkloadApiError, type X509SVIDResponse } from '../../src/cli/workload-client.js';
import { isAgentError } from '../../src/errors.js';
import { workloadApiDefinition } from '../../src/protos.js';
import { createTestIntermediate, createTestLeaf, createTestRoot, TEST_NOW, TEST_NOW_SECONDS } from '../support/test-ca.js';

const ID = 'spiffe://cluster.local/ns/default/sa/default';
const dir = mkdtempSync(join(tmpdir(), 'svid-agent-fetch-'));
const socketPath = join(dir, 'agent.sock');

/** What the fake does with the next FetchX509SVID call. */
type Behaviour = { send: X509SVIDResponse } | { fail: grpc.status; details: string } | 'hang';
let behaviour: Behaviour = 'hang';
const seenHeaders: string[][] = [];
let server: grpc.Server;
let good: X509SVIDResponse;

before(async () => {
  const root = await createTestRoot();
  const issuer = await createTestIntermediate({ parent: root });
  const leaf = await createTestLeaf({ issuer, spiffeId: ID });
  good = {
    svids: [
      {
        spiffe_id: ID,
        x509_svid: Buffer.concat([leaf.der, issuer.der]),
        x509_svid_key: leaf.privateKey.export({ type: 'pkcs8', format: 'der' }),
        bundle: root.der,
        hint: '',
      },
    ],
    crl: [],
    federated_bundles: {},
  };
  server = new grpc.Server();
  server.addService(workloadApiDefinition(), {
    FetchX509SVID: (call: grpc.ServerWritableStream<unknown, X509SVIDResponse>) => {
      seenHeaders.push(call.metadata.get(SECURITY_HEADER_KEY).map(String));
      const b = behaviour;
      if (b === 'hang') return;
      if ('fail' in b) call.emit('error', { code: b.fail, details: b.details });
      else call.write(b.send);
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
});

after(() => {
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

function collectIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdout: () => out,
    stderr: () => err,
  };
}

describe('fetchX509Once', () => {
  it('returns the first message and sends the security header exactly once', async () => {
    behaviour = { send: good };
    seenHeaders.length = 0;
    const res = await fetchX509Once({ socketPath, timeoutMs: 5000 });
    assert.equal(res.svids[0]?.spiffe_id, ID);
    assert.deepEqual(res.svids[0]?.x509_svid, good.svids[0]?.x509_svid);
    assert.deepEqual(seenHeaders, [['true']]);
  });

  it('reports PERMISSION_DENIED as a WorkloadApiError', async () => {
    behaviour = { fail: grpc.status.PERMISSION_DENIED, details: 'no identity issued' };
    await assert.rejects(fetchX509Once({ socketPath, timeoutMs: 5000 }), (err: unknown) => {
      assert.ok(err instanceof WorkloadApiError);
      assert.equal(err.status, grpc.status.PERMISSION_DENIED);
      assert.ok(isAgentError(err, 'NO_IDENTITY'));
      assert.equal(err.message, 'PERMISSION_DENIED: no identity issued');
      return true;
    });
  });

  it('gives up at the deadline', async () => {
    behaviour = 'hang';
    await assert.rejects(
      fetchX509Once({ socketPath, timeoutMs: 150 }),
      (err: unknown) => err instanceof WorkloadApiError && err.status === grpc.status.DEADLINE_EXCEEDED,
    );
  });
});

describe('api fetch x509', () => {
  it('prints the pretty form and writes svid.0.pem, svid.0.key (0600) and bundle.0.pem', async () => {
    behaviour = { send: good };
    const io = collectIo();
    const out = join(dir, 'written');
    const code = await runFetchX509({ socketPath, timeoutMs: 5000, output: 'pretty', writeDir: out, io, now: () => TEST_NOW });
    assert.equal(code, 0, io.stderr());
    assert.match(io.stdout(), /^Received 1 svid after [\d.]+m?s\n\nSPIFFE ID:\t\tspiffe:\/\/cluster\.local\/ns\/default\/sa\/default\n/);
    assert.match(io.stdout(), new RegExp(`Writing key #0 to file ${out}/svid\\.0\\.key\\.`));
    assert.ok(!io.stdout().includes('PRIVATE KEY'));
    assert.equal(statSync(join(out, 'svid.0.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'svid.0.pem')).mode & 0o777, 0o644);
    assert.equal(statSync(join(out, 'bundle.0.pem')).mode & 0o777, 0o644);
    assert.match(readFileSync(join(out, 'svid.0.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(readFileSync(join(out, 'svid.0.pem'), 'utf8').match(/BEGIN CERTIFICATE/g)?.length, 2);
    const svidPem = join(out, 'svid.0.pem');
    execFileSync('openssl', [
      'verify',
      '-attime',
      String(TEST_NOW_SECONDS),
      '-CAfile',
      join(out, 'bundle.0.pem'),
      '-untrusted',
      svidPem,
      svidPem,
    ]);
  });

  it('prints the JSON spire-agent prints with --output json; --silent prints nothing', async () => {
    behaviour = { send: good };
    const io = collectIo();
    assert.equal(await runFetchX509({ socketPath, timeoutMs: 5000, output: 'json', io, now: () => TEST_NOW }), 0);
    const json = JSON.parse(io.stdout()) as { svids: Array<{ spiffe_id: string; x509_svid: string }>; crl: unknown[] };
    assert.equal(json.svids[0]?.spiffe_id, ID);
    assert.equal(json.svids[0]?.x509_svid, good.svids[0]?.x509_svid.toString('base64'));
    assert.deepEqual(json.crl, []);
    const quiet = collectIo();
    assert.equal(await runFetchX509({ socketPath, timeoutMs: 5000, output: 'pretty', silent: true, io: quiet, now: () => TEST_NOW }), 0);
    assert.equal(quiet.stdout(), '');
  });

  const failures: Array<[string, Behaviour, RegExp]> = [
    [
      'no identity',
      { fail: grpc.status.PERMISSION_DENIED, details: 'no identity issued' },
      /^svid-agent: the agent issued no identity to this process \(PERMISSION_DENIED: no identity issued\)\n$/,
    ],
    ['timeout', 'hang', /^svid-agent: no answer from .* within 200ms \(DEADLINE_EXCEEDED\)\n$/],
    ['empty response', { send: { svids: [], crl: [], federated_bundles: {} } }, /^svid-agent: workload response contains no svids\n$/],
  ];
  for (const [name, b, expected] of failures) {
    it(`exits 1 with one line on ${name}`, async () => {
      behaviour = b;
      const io = collectIo();
      assert.equal(await runFetchX509({ socketPath, timeoutMs: 200, output: 'pretty', io, now: () => TEST_NOW }), 1);
      assert.match(io.stderr(), expected);
      assert.equal(io.stdout(), '');
    });
  }

  it('exits 1 when no socket exists', async () => {
    const io = collectIo();
    assert.equal(await runFetchX509({ socketPath: join(dir, 'missing.sock'), timeoutMs: 200, output: 'pretty', io }), 1);
    assert.match(
      io.stderr(),
      /^svid-agent: no Workload API socket at .*missing\.sock \(is the agent running\? use --socket or SPIFFE_ENDPOINT_SOCKET\)\n$/,
    );
  });

  it('exits 1 on a stale socket file nobody listens on', async () => {
    const stale = join(dir, 'stale.sock');
    // A listener that is SIGKILLed leaves its socket file behind.
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    const io = collectIo();
    assert.equal(await runFetchX509({ socketPath: stale, timeoutMs: 2000, output: 'pretty', io }), 1);
    assert.match(io.stderr(), /^svid-agent: nothing is listening on .*stale\.sock \(a stale socket file\?\)\n$/);
  });
});
