/**
 * The JWT handlers without a server: fake calls, a fake caller resolver, the real stream
 * registry and encoder. Each case asserts the status code and message a client would see.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { beforeEach, describe, test } from 'node:test';
import { Metadata, status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { captureLogger } from '../../test/support/log-capture.js';
import { AgentError } from '../errors.js';
import { workloadIdentityFor } from '../identity.js';
import { createJwtKeySet, type JwtKeySet, type JwtSigningKey, jwtSigningKeyFrom, newKeyPair } from '../issuer/index.js';
import { createValueChannel, type ValueChannel } from '../value-channel.js';
import type { CallerResolver, ResolvedCaller } from './caller-resolver.js';
import { agentServices } from './grpc-services.js';
import { createJwtHandlers } from './jwt-handler.js';
import { localJwtSource } from './jwt-source.js';
import { createStreamRegistry } from './stream-registry.js';
import { createWorkloadCalls } from './workload-calls.js';

const TD = 'cluster.local';
const naming = { trustDomain: TD, identityDomain: `identity.linkerd.${TD}` };
const WEB = workloadIdentityFor({ type: 'serviceaccount', namespace: 'default', name: 'web' }, naming);
const T0 = Date.UTC(2030, 0, 1);
const services = agentServices();

type Status = { code: number; details: string };
type Resolve = () => Promise<ResolvedCaller>;

const attested =
  (identity = WEB): Resolve =>
  async () => ({
    caller: { peer: { pid: 4242, uid: 1000, gid: 1000 }, startTime: '1', connectionId: 'c1' },
    attestation: { account: identity.account, attestor: 'unix' },
    identity,
  });

function headers(value: string | null = 'true'): Metadata {
  const md = new Metadata();
  if (value !== null) md.set('workload.spiffe.io', value);
  return md;
}

function decode(method: string, bytes: Buffer): Record<string, unknown> {
  const def = services.workload[method];
  assert.ok(def);
  return def.responseDeserialize(bytes) as Record<string, unknown>;
}

class FakeStream extends EventEmitter {
  cancelled = false;
  readonly written: Buffer[] = [];
  readonly metadata = headers();
  readonly request = {};
  getPeer = () => 'fake-peer';
  write(message: Buffer): boolean {
    this.written.push(message);
    return true;
  }
  end(): void {
    this.emit('finish');
  }
}

interface Fixture {
  keys: ValueChannel<JwtKeySet>;
  signer: JwtSigningKey;
  now: { ms: number };
  resolve: { fn: Resolve };
  handlers: UntypedServiceImplementation;
  log: ReturnType<typeof captureLogger>;
  unary(method: string, request: object, md?: Metadata): Promise<{ err?: Status; value?: Record<string, unknown> }>;
}

async function newKey(): Promise<JwtSigningKey> {
  return jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
}

async function fixture(options: { disabled?: boolean } = {}): Promise<Fixture> {
  const signer = await newKey();
  const keys = createValueChannel(createJwtKeySet(signer));
  const now = { ms: T0 };
  const resolve = { fn: attested() };
  const resolver: CallerResolver = { resolve: () => resolve.fn() };
  const log = captureLogger('debug');
  const handlers = createJwtHandlers({
    jwt: options.disabled ? undefined : localJwtSource(keys.receiver, 300_000),
    trustDomain: TD,
    clock: { now: () => now.ms },
    logger: log.logger,
    resolver,
    streams: createStreamRegistry(),
    encode: services.encodeWorkloadResponse,
    calls: createWorkloadCalls(log.logger),
  });
  return {
    keys,
    signer,
    now,
    resolve,
    handlers,
    log,
    unary(method, request, md = headers()) {
      const handler = handlers[method] as (call: unknown, cb: (err: Status | null, value?: unknown) => void) => void;
      return new Promise((resolveCall) => {
        const call = Object.assign(new EventEmitter(), { metadata: md, request, cancelled: false, getPeer: () => 'fake-peer' });
        handler(call, (err, value) => {
          if (err) resolveCall({ err: { code: err.code, details: err.details } });
          // Round-trip through the wire encoding, as a client would see it.
          else resolveCall({ value: decode(method, services.encodeWorkloadResponse(method, value)) });
        });
      });
    },
  };
}

function openBundles(f: Fixture): FakeStream {
  const stream = new FakeStream();
  (f.handlers.FetchJWTBundles as (call: unknown) => void)(stream);
  return stream;
}

const tick = () => new Promise((r) => setImmediate(r));
const svidsOf = (value: Record<string, unknown> | undefined) =>
  (value?.svids ?? []) as Array<{ spiffe_id: string; svid: string; hint: string }>;

describe('FetchJWTSVID', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await fixture();
  });

  test("mints a token for the caller's identity that jose verifies against the bundle JWKS", async () => {
    const { value } = await f.unary('FetchJWTSVID', { audience: ['a', 'b'], spiffe_id: '' });
    const [svid] = svidsOf(value);
    assert.ok(svid);
    assert.equal(svid.spiffe_id, WEB.spiffeId);
    assert.equal(svid.hint, '');
    assert.deepEqual(decodeProtectedHeader(svid.svid), { alg: 'ES256', kid: f.signer.kid, typ: 'JWT' });
    assert.deepEqual(decodeJwt(svid.svid), { sub: WEB.spiffeId, aud: ['a', 'b'], iat: T0 / 1000, exp: T0 / 1000 + 300 });
    const stream = openBundles(f);
    await tick();
    const bundles = decode('FetchJWTBundles', stream.written[0] as Buffer).bundles as Record<string, Buffer>;
    const jwks = JSON.parse(String(bundles[`spiffe://${TD}`])) as Parameters<typeof createLocalJWKSet>[0];
    const verified = await jwtVerify(svid.svid, createLocalJWKSet(jwks), { audience: 'b', currentDate: new Date(T0) });
    assert.equal(verified.payload.sub, WEB.spiffeId);
    assert.equal(f.log.text().includes(svid.svid), false, 'the token never reaches the log');
    assert.ok(
      f.log.entries.some((e) => e.msg === 'jwt-svid issued' && e.kid === f.signer.kid && e.audiences === 2 && e.spiffe_id === WEB.spiffeId),
    );
  });

  const refusals: Array<[string, object, number, string, Metadata?]> = [
    [
      'no security header (checked first)',
      { audience: [] },
      status.INVALID_ARGUMENT,
      'security header missing from request',
      headers(null),
    ],
    ['an empty audience', { audience: [], spiffe_id: '' }, status.INVALID_ARGUMENT, 'audience must be specified'],
    [
      '65 audiences',
      { audience: Array.from({ length: 65 }, (_, i) => `a${i}`) },
      status.INVALID_ARGUMENT,
      'too many audiences: at most 64',
    ],
    ['an audience of 1025 bytes', { audience: ['x'.repeat(1025)] }, status.INVALID_ARGUMENT, 'audience longer than 1024 bytes'],
    ['an empty audience value', { audience: ['a', ''] }, status.INVALID_ARGUMENT, 'audience must not contain empty values'],
    [
      'audiences over 16 KiB in total',
      { audience: Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(1000, 'x')) },
      status.INVALID_ARGUMENT,
      'audiences longer than 16384 bytes in total',
    ],
    [
      'a malformed spiffe_id',
      { audience: ['a'], spiffe_id: 'not-an-id' },
      status.INVALID_ARGUMENT,
      'invalid requested SPIFFE ID: SPIFFE ID must have the form spiffe://<trust-domain>/<path> with no query or fragment',
    ],
    [
      'a spiffe_id the caller is not entitled to',
      { audience: ['a'], spiffe_id: `spiffe://${TD}/ns/kube-system/sa/admin` },
      status.PERMISSION_DENIED,
      'no identity issued',
    ],
  ];
  for (const [label, request, code, details, md] of refusals) {
    test(`refuses ${label}`, async () => {
      const { err } = await f.unary('FetchJWTSVID', request, md);
      assert.deepEqual(err, { code, details });
    });
  }

  test('its own spiffe_id is accepted, the trust domain case-insensitively', async () => {
    const { value } = await f.unary('FetchJWTSVID', { audience: ['a'], spiffe_id: WEB.spiffeId.replace(TD, TD.toUpperCase()) });
    assert.equal(svidsOf(value)[0]?.spiffe_id, WEB.spiffeId);
  });

  test('attestation calls map like the X.509 methods: no identity, unavailable', async () => {
    f.resolve.fn = async () => {
      throw new AgentError('NO_IDENTITY', 'not in a pod');
    };
    assert.deepEqual((await f.unary('FetchJWTSVID', { audience: ['a'] })).err, {
      code: status.PERMISSION_DENIED,
      details: 'no identity issued',
    });
    f.resolve.fn = async () => {
      throw new AgentError('ATTESTATION_UNAVAILABLE', 'api server down');
    };
    assert.deepEqual((await f.unary('FetchJWTSVID', { audience: ['a'] })).err, {
      code: status.UNAVAILABLE,
      details: 'workload attestation failed',
    });
  });

  test('reuses the cached token within half its lifetime, for any audience order; a new one after', async () => {
    const token = async (audience: string[]) => svidsOf((await f.unary('FetchJWTSVID', { audience })).value)[0]?.svid;
    const first = await token(['a', 'b']);
    f.now.ms = T0 + 149_000;
    assert.equal(await token(['b', 'a']), first);
    assert.notEqual(await token(['a']), first, 'another audience set gets its own token');
    f.now.ms = T0 + 150_000;
    const second = await token(['a', 'b']);
    assert.notEqual(second, first);
    assert.equal(decodeJwt(second as string).iat, (T0 + 150_000) / 1000);
  });
});

describe('FetchJWTBundles', () => {
  test('sends the JWKS at once, again when the keys change, not when an equal set is published', async () => {
    const f = await fixture();
    const stream = openBundles(f);
    await tick();
    assert.equal(stream.written.length, 1);
    const kids = (i: number) => {
      const bundles = decode('FetchJWTBundles', stream.written[i] as Buffer).bundles as Record<string, Buffer>;
      assert.deepEqual(Object.keys(bundles), [`spiffe://${TD}`]);
      return (JSON.parse(String(bundles[`spiffe://${TD}`])) as { keys: Array<{ kid: string; d?: string }> }).keys.map((k) => {
        assert.equal(k.d, undefined, 'public keys only');
        return k.kid;
      });
    };
    assert.deepEqual(kids(0), [f.signer.kid]);
    f.keys.sink.set(createJwtKeySet(f.signer));
    assert.equal(stream.written.length, 1, 'same keys, nothing new to send');

    // Rotation: the new key signs, the old one stays published, and its tokens still validate.
    const old = svidsOf((await f.unary('FetchJWTSVID', { audience: ['a'] })).value)[0]?.svid as string;
    const next = await newKey();
    f.keys.sink.set(createJwtKeySet(next, f.keys.receiver.get().keys));
    assert.equal(stream.written.length, 2);
    assert.deepEqual(kids(1), [next.kid, f.signer.kid]);
    const fresh = svidsOf((await f.unary('FetchJWTSVID', { audience: ['a'] })).value)[0]?.svid as string;
    assert.equal(decodeProtectedHeader(fresh).kid, next.kid, 'the cache does not hand out tokens of the retired signer');
    for (const svid of [old, fresh]) assert.ok((await f.unary('ValidateJWTSVID', { audience: 'a', svid })).value);

    f.keys.sink.set(createJwtKeySet(next));
    assert.equal(stream.written.length, 3);
    assert.deepEqual((await f.unary('ValidateJWTSVID', { audience: 'a', svid: old })).err, {
      code: status.INVALID_ARGUMENT,
      details: `public key "${f.signer.kid}" not found in trust domain "${TD}"`,
    });

    stream.cancelled = true;
    stream.emit('cancelled');
    f.keys.sink.set(createJwtKeySet(f.signer));
    assert.equal(stream.written.length, 3, 'a closed stream is unsubscribed');
  });

  test('streams of many callers share one encoded response', async () => {
    const f = await fixture();
    const a = openBundles(f);
    const b = openBundles(f);
    await tick();
    assert.equal(a.written[0], b.written[0]);
  });

  test('a caller with no identity gets PERMISSION_DENIED', async () => {
    const f = await fixture();
    f.resolve.fn = async () => {
      throw new AgentError('NO_IDENTITY', 'not in a pod');
    };
    const stream = openBundles(f);
    const err = await new Promise<Status>((resolve) => stream.once('error', resolve));
    assert.deepEqual(err, { code: status.PERMISSION_DENIED, details: 'no identity issued' });
  });
});

describe('ValidateJWTSVID', () => {
  test('returns the SPIFFE ID and every claim as a Struct, aud a list', async () => {
    const f = await fixture();
    const svid = svidsOf((await f.unary('FetchJWTSVID', { audience: ['solo'] })).value)[0]?.svid as string;
    const { value } = await f.unary('ValidateJWTSVID', { audience: 'solo', svid });
    assert.equal(value?.spiffe_id, WEB.spiffeId);
    assert.ok(value);
    const fields = (value.claims as { fields: Record<string, Record<string, unknown>> }).fields;
    assert.deepEqual(fields.aud?.listValue, { values: [{ stringValue: 'solo', kind: 'stringValue' }] });
    assert.equal(fields.sub?.stringValue, WEB.spiffeId);
    assert.equal(fields.exp?.numberValue, T0 / 1000 + 300);
    assert.equal(fields.iat?.numberValue, T0 / 1000);
  });

  test('any attested caller may validate a token of another identity', async () => {
    const f = await fixture();
    const svid = svidsOf((await f.unary('FetchJWTSVID', { audience: ['a'] })).value)[0]?.svid as string;
    f.resolve.fn = attested(workloadIdentityFor({ type: 'serviceaccount', namespace: 'other', name: 'api' }, naming));
    assert.equal((await f.unary('ValidateJWTSVID', { audience: 'a', svid })).value?.spiffe_id, WEB.spiffeId);
  });

  const refusals: Array<[string, object, string]> = [
    ['an empty audience', { audience: '', svid: 'x.y.z' }, 'audience must be specified'],
    ['an empty svid', { audience: 'a', svid: '' }, 'svid must be specified'],
    ['an audience of 1025 bytes', { audience: 'x'.repeat(1025), svid: 'x.y.z' }, 'audience longer than 1024 bytes'],
    ['a random string', { audience: 'a', svid: 'hello' }, 'unable to parse JWT token: compact JWS format must have three parts'],
    ['a giant token', { audience: 'a', svid: 'x'.repeat(3_000_000) }, 'unable to parse JWT token: longer than 131072 characters'],
  ];
  for (const [label, request, details] of refusals) {
    test(`refuses ${label} with INVALID_ARGUMENT saying what failed`, async () => {
      const f = await fixture();
      assert.deepEqual((await f.unary('ValidateJWTSVID', request)).err, { code: status.INVALID_ARGUMENT, details });
    });
  }
});

describe('without --jwt-key', () => {
  test('the three methods answer UNIMPLEMENTED (the profile is disabled), after the header rule', async () => {
    const f = await fixture({ disabled: true });
    for (const [method, request] of [
      ['FetchJWTSVID', { audience: ['a'] }],
      ['ValidateJWTSVID', { audience: 'a', svid: 'x' }],
    ] as const) {
      assert.deepEqual((await f.unary(method, request)).err, {
        code: status.UNIMPLEMENTED,
        details: `${method} is disabled: the agent runs without --jwt-key`,
      });
      assert.equal((await f.unary(method, request, headers(null))).err?.code, status.INVALID_ARGUMENT);
    }
    const stream = openBundles(f);
    const err = await new Promise<Status>((resolve) => stream.once('error', resolve));
    assert.deepEqual(err, { code: status.UNIMPLEMENTED, details: 'FetchJWTBundles is disabled: the agent runs without --jwt-key' });
  });
});
