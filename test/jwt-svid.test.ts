/**
 * JWT-SVIDs over the real socket (issue 4): tokens fetched by a child process validate through
 * ValidateJWTSVID and, independently, through `jose` against the FetchJWTBundles JWKS; forged,
 * expired and malformed tokens are refused with INVALID_ARGUMENT and a message saying why; bad
 * input never takes the agent down.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { startAgent } from '../src/agent/index.js';
import { createWorkloadClient, WorkloadApiError, type WorkloadClient } from '../src/cli/workload-client.js';
import { isAgentError } from '../src/errors.js';
import { createJwtSigningKey, type JwtSigningKey, jwtSigningKeyFrom } from '../src/issuer/index.js';
import { makeTestDir, startTestAgent, type TestAgent, testAgentConfig, writeCredentials } from './support/agent-harness.js';
import { type ChildEvent, finalStatus, runChild, startChild } from './support/child.js';
import { startCli } from './support/cli-process.js';
import { captureLogger } from './support/log-capture.js';

const ROOT_ID = 'spiffe://cluster.local/ns/local/sa/root';
const TD_ID = 'spiffe://cluster.local';
const EXPECTED_ALGS = '["RS256" "RS384" "RS512" "ES256" "ES384" "ES512" "PS256" "PS384" "PS512"]';

const dataOf = (events: ChildEvent[]) => events.find((e) => e.event === 'data')?.message ?? {};

describe('JWT-SVIDs over the socket', () => {
  let keyDir: string;
  let agent: TestAgent;
  let key: JwtSigningKey;
  let client: WorkloadClient;
  before(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'svid-agent-jwt-'));
    const pem = createJwtSigningKey().privateKeyPem;
    await writeFile(join(keyDir, 'jwt.key'), pem, { mode: 0o600 });
    key = await jwtSigningKeyFrom(createPrivateKey(pem));
    agent = await startTestAgent({ jwtKey: join(keyDir, 'jwt.key') });
    client = createWorkloadClient({ socketPath: agent.socketPath });
  });
  after(async () => {
    client.close();
    await agent.close();
    await rm(keyDir, { recursive: true, force: true });
  });

  const args = (...more: string[]) => ['--socket', agent.socketPath, ...more];
  const deadline = () => ({ deadline: Date.now() + 10_000 });
  async function fetchToken(audience: string[]): Promise<string> {
    const svids = dataOf(await runChild(args('--method', 'FetchJWTSVID', '--request', JSON.stringify({ audience })))).svids as Array<{
      spiffe_id: string;
      svid: string;
    }>;
    assert.equal(svids.length, 1);
    assert.equal(svids[0]?.spiffe_id, ROOT_ID);
    return svids[0]?.svid as string;
  }
  async function refusal(request: { audience: string; svid: string }): Promise<{ code: number; details: string }> {
    try {
      await client.validateJWTSVID(request, deadline());
    } catch (err) {
      assert.ok(err instanceof WorkloadApiError, String(err));
      return { code: err.status, details: (err.cause as ServiceError).details };
    }
    assert.fail('the token was accepted');
  }

  test('a fetched token validates through ValidateJWTSVID (another caller) and through jose with the JWKS', async () => {
    const token = await fetchToken(['a', 'b']);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', kid: key.kid, typ: 'JWT' });

    const validated = dataOf(
      await runChild(args('--method', 'ValidateJWTSVID', '--request', JSON.stringify({ audience: 'b', svid: token })), {
        uid: 65534,
        gid: 65534,
      }),
    );
    assert.equal(validated.spiffe_id, ROOT_ID);
    const fields = (validated.claims as { fields: Record<string, Record<string, unknown>> }).fields;
    assert.deepEqual(Object.keys(fields).sort(), ['aud', 'exp', 'iat', 'sub']);
    const aud = fields.aud?.listValue as { values: Array<{ stringValue: string }> } | undefined;
    assert.deepEqual(
      aud?.values.map((v) => v.stringValue),
      ['a', 'b'],
    );

    const bundles = dataOf(await runChild(args('--method', 'FetchJWTBundles'))).bundles as Record<string, string>;
    assert.deepEqual(Object.keys(bundles), [TD_ID]);
    const jwks = JSON.parse(Buffer.from(bundles[TD_ID] as string, 'base64').toString()) as { keys: Array<Record<string, string>> };
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      [key.kid],
    );
    assert.ok(
      jwks.keys.every((k) => k.d === undefined),
      'public keys only',
    );
    const verified = await jwtVerify(token, createLocalJWKSet(jwks), { audience: 'a', algorithms: ['ES256'] });
    assert.equal(verified.payload.sub, ROOT_ID);
    assert.equal((verified.payload.exp as number) - (verified.payload.iat as number), 300, 'the default --jwt-ttl is 5m');

    assert.equal(agent.log.text().includes(token), false, 'no token in the agent log');
  });

  test('FetchJWTSVID: empty audience and a foreign spiffe_id are refused with code and message', async () => {
    const empty = finalStatus(await runChild(args('--method', 'FetchJWTSVID', '--request', '{"audience":[]}')));
    assert.deepEqual([empty.code, empty.details], [status.INVALID_ARGUMENT, 'audience must be specified']);
    const request = JSON.stringify({ audience: ['a'], spiffe_id: 'spiffe://cluster.local/ns/local/sa/nobody' });
    const other = finalStatus(await runChild(args('--method', 'FetchJWTSVID', '--request', request)));
    assert.deepEqual([other.code, other.details], [status.PERMISSION_DENIED, 'no identity issued']);
  });

  test('forged, expired and malformed tokens: INVALID_ARGUMENT saying what failed', async () => {
    const good = await fetchToken(['a']);
    const [h, p, s] = good.split('.') as [string, string, string];
    const claims = (extra: Record<string, unknown>) => ({ sub: ROOT_ID, aud: ['a'], iat: now(), exp: now() + 300, ...extra });
    const now = () => Math.floor(Date.now() / 1000);
    const signed = (payload: Record<string, unknown>, kid = key.kid) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key.privateKey);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const hs256 = await new SignJWT(claims({}))
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .sign(new TextEncoder().encode(String(key.publicKey.export({ type: 'spki', format: 'pem' }))));
    const cases: Array<[string, string, string, string?]> = [
      [
        'tampered payload',
        `${h}.${b64(claims({ sub: 'spiffe://cluster.local/ns/kube-system/sa/admin' }))}.${s}`,
        'token signature is invalid',
      ],
      ['wrong kid', await signed(claims({}), 'not-our-key'), 'public key "not-our-key" not found in trust domain "cluster.local"'],
      [
        'alg none',
        `${b64({ alg: 'none', kid: key.kid })}.${p}.`,
        `unable to parse JWT token: unexpected signature algorithm "none"; expected ${EXPECTED_ALGS}`,
      ],
      [
        'HS256 with the public key as secret',
        hs256,
        `unable to parse JWT token: unexpected signature algorithm "HS256"; expected ${EXPECTED_ALGS}`,
      ],
      ['expired', await signed(claims({ iat: now() - 400, exp: now() - 100 })), 'token has expired'],
      ['not yet valid', await signed(claims({ nbf: now() + 120 })), 'token not valid yet (nbf)'],
      ['wrong audience', good, 'expected audience in ["b"] (audience=["a"])', 'b'],
      [
        'foreign trust domain',
        await signed(claims({ sub: 'spiffe://example.org/ns/a/sa/b' })),
        'no keys found for trust domain "example.org"',
      ],
      ['malformed compact string', 'not.a-jwt', 'unable to parse JWT token: compact JWS format must have three parts'],
      ['JSON where the header goes', `{}.${p}.${s}`, 'unable to parse JWT token: header is not base64url'],
    ];
    for (const [label, svid, details, audience] of cases) {
      assert.deepEqual(await refusal({ audience: audience ?? 'a', svid }), { code: status.INVALID_ARGUMENT, details }, label);
    }
  });

  test('an audience whose bytes are not UTF-8 is refused where it is decoded, never minted as U+FFFD', async () => {
    const raw = new Client(`unix:${agent.socketPath}`, credentials.createInsecure());
    const md = new Metadata();
    md.set('workload.spiffe.io', 'true');
    const call = (path: string, body: Buffer) =>
      new Promise<{ code: number; details: string }>((resolve) => {
        const pass = (b: Buffer) => b;
        raw.makeUnaryRequest(path, pass, pass, body, md, deadline(), (err) =>
          resolve({ code: err?.code ?? 0, details: err?.details ?? '' }),
        );
      });
    // Field 1 (audience): "a", then the bytes ff fe.
    const audiences = Buffer.from([0x0a, 0x01, 0x61, 0x0a, 0x02, 0xff, 0xfe]);
    try {
      assert.deepEqual(await call('/SpiffeWorkloadAPI/FetchJWTSVID', audiences), {
        code: status.INVALID_ARGUMENT,
        details: 'audience is not valid UTF-8',
      });
      const validate = Buffer.concat([Buffer.from([0x0a, 0x01, 0xc3]), Buffer.from([0x12, 0x05]), Buffer.from('a.b.c')]);
      assert.deepEqual(await call('/SpiffeWorkloadAPI/ValidateJWTSVID', validate), {
        code: status.INVALID_ARGUMENT,
        details: 'audience is not valid UTF-8',
      });
      // Multi-byte UTF-8 is fine.
      assert.equal((await call('/SpiffeWorkloadAPI/FetchJWTSVID', Buffer.from([0x0a, 0x02, 0xc3, 0xa9]))).code, status.OK);
    } finally {
      raw.close();
    }
  });

  test('random strings, huge audience lists and giant tokens do not hurt the agent', async () => {
    const randoms = Array.from({ length: 200 }, (_, i) => randomBytes(1 + (i % 200)).toString(i % 3 ? 'base64url' : 'latin1'));
    const results = await Promise.all(randoms.map((svid) => refusal({ audience: 'a', svid })));
    assert.ok(results.every((r) => r.code === status.INVALID_ARGUMENT));
    const manyAudiences = await client
      .fetchJWTSVID({ audience: Array.from({ length: 50_000 }, (_, i) => `aud-${i}`) }, deadline())
      .catch((e: unknown) => e);
    assert.ok(manyAudiences instanceof WorkloadApiError && manyAudiences.status === status.INVALID_ARGUMENT, String(manyAudiences));
    assert.match(manyAudiences.message, /too many audiences: at most 64/);
    const giant = await refusal({ audience: 'a', svid: `${'A'.repeat(3_000_000)}.x.y` });
    assert.deepEqual(giant, { code: status.INVALID_ARGUMENT, details: 'unable to parse JWT token: longer than 131072 characters' });
    assert.equal((await client.validateJWTSVID({ audience: 'a', svid: await fetchToken(['a']) }, deadline())).spiffe_id, ROOT_ID);
    const x509 = await runChild(args());
    assert.equal(finalStatus(x509).code, 0, 'the agent still serves X.509-SVIDs');
  });
});

describe('JWT key configuration', () => {
  test('without --jwt-key the JWT methods answer UNIMPLEMENTED (the profile is disabled)', async () => {
    const agent = await startTestAgent();
    try {
      const st = finalStatus(await runChild(['--socket', agent.socketPath, '--method', 'FetchJWTSVID', '--request', '{"audience":["a"]}']));
      assert.deepEqual([st.code, st.details], [status.UNIMPLEMENTED, 'FetchJWTSVID is disabled: the agent runs without --jwt-key']);
      assert.ok(agent.log.entries.some((e) => e.msg === 'jwt-svids disabled: no --jwt-key configured'));
    } finally {
      await agent.close();
    }
  });

  test('run --dev signs with the JWT key it generated', async () => {
    const dir = await makeTestDir();
    const agent = startCli(['run', '--dev', '--health-addr', ''], { cwd: dir });
    try {
      await agent.waitFor(({ stderr }) => stderr.includes('listening on workload api socket'), 'the agent to serve');
      const socket = join(dir, '.svid-agent', 'agent.sock');
      const svids = dataOf(await runChild(['--socket', socket, '--method', 'FetchJWTSVID', '--request', '{"audience":["a"]}']))
        .svids as Array<{ svid: string }>;
      const loaded = agent
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; path?: string; kid?: string })
        .find((e) => e.msg === 'loaded jwt signing key');
      assert.equal(loaded?.path, join(dir, '.svid-agent', 'credentials', 'jwt.key'));
      assert.equal(decodeProtectedHeader(svids[0]?.svid as string).kid, loaded?.kid);
    } finally {
      assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the agent refuses to start with the X.509 issuer key as --jwt-key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svid-agent-jwt-'));
    try {
      const { issuerDir } = await writeCredentials(dir);
      const config = testAgentConfig(dir, { jwtKey: join(issuerDir, 'tls.key') });
      await assert.rejects(startAgent(config, { logger: captureLogger().logger }), (err: unknown) => {
        assert.ok(isAgentError(err, 'CREDENTIALS_INVALID'));
        assert.equal(err.message, `JWT signing key ${join(issuerDir, 'tls.key')} is an X.509 CA key; JWT-SVIDs need a key of their own`);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('JWT signing key rotation', () => {
  test('a new key file signs from then on; the bundle carries both keys; old tokens still validate', async () => {
    const keyDir = await mkdtemp(join(tmpdir(), 'svid-agent-jwt-rot-'));
    const keyPath = join(keyDir, 'jwt.key');
    const firstPem = createJwtSigningKey().privateKeyPem;
    await writeFile(keyPath, firstPem, { mode: 0o600 });
    const first = await jwtSigningKeyFrom(createPrivateKey(firstPem));
    const agent = await startTestAgent({ jwtKey: keyPath });
    try {
      const args = (...more: string[]) => ['--socket', agent.socketPath, ...more];
      const bundles = startChild(args('--method', 'FetchJWTBundles', '--count', '2', '--timeout', '30000'));
      await bundles.waitFor((e) => e.event === 'data');
      const tokenOf = async () => {
        const svids = dataOf(await runChild(args('--method', 'FetchJWTSVID', '--request', '{"audience":["x"]}'))).svids as Array<{
          svid: string;
        }>;
        return svids[0]?.svid ?? '';
      };
      const oldToken = await tokenOf();
      assert.equal(decodeProtectedHeader(oldToken).kid, first.kid);

      const secondPem = createJwtSigningKey().privateKeyPem;
      const second = await jwtSigningKeyFrom(createPrivateKey(secondPem));
      await writeFile(`${keyPath}.tmp`, secondPem, { mode: 0o600 });
      await rename(`${keyPath}.tmp`, keyPath);

      const events = await bundles.done;
      const jwks = JSON.parse(
        Buffer.from(
          ((events.filter((e) => e.event === 'data')[1]?.message?.bundles ?? {}) as Record<string, string>)[TD_ID] ?? '',
          'base64',
        ).toString(),
      ) as {
        keys: Array<{ kid: string }>;
      };
      assert.deepEqual(
        jwks.keys.map((k) => k.kid),
        [second.kid, first.kid],
        'the new key first, the retired one still published',
      );
      assert.equal(decodeProtectedHeader(await tokenOf()).kid, second.kid, 'new tokens use the new key');
      const validated = dataOf(
        await runChild(args('--method', 'ValidateJWTSVID', '--request', JSON.stringify({ audience: 'x', svid: oldToken }))),
      );
      assert.equal(validated.spiffe_id, ROOT_ID, 'a token of the retired key still validates');

      await writeFile(keyPath, 'not a key');
      await agent.running.reloadCredentials();
      assert.ok(agent.log.entries.some((e) => e.msg === 'jwt key update refused; keeping the current key'));
      assert.equal(decodeProtectedHeader(await tokenOf()).kid, second.kid);
    } finally {
      await agent.close();
      await rm(keyDir, { recursive: true, force: true });
    }
  });
});
