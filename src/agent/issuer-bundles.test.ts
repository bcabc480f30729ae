import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { captureLogger } from '../../test/support/log-capture.js';
import type { AgentError } from '../errors.js';
import { createJwtKeySet, jwksJson, jwtSigningKeyFrom, newKeyPair } from '../issuer/index.js';
import { createValueChannel } from '../value-channel.js';
import { followIssuerBundles } from './issuer-bundles.js';
import type { JwtBundle } from './jwt-source.js';
import type { BundlesMessage } from './node-client.js';
import { NodeServiceError } from './node-service-error.js';

type Handlers = { message(m: BundlesMessage): void; end(err: AgentError | undefined): void };

function world() {
  const streams: Handlers[] = [];
  const waits: number[] = [];
  const pending: Array<() => void> = [];
  const bundle = createValueChannel<JwtBundle | undefined>(undefined);
  const swaps: number[] = [];
  const log = captureLogger('debug');
  const follow = followIssuerBundles({
    client: {
      watchBundles(h) {
        streams.push(h);
        return { cancel: () => undefined };
      },
    },
    bundle: bundle.sink,
    onIssuerSwap: () => swaps.push(swaps.length),
    logger: log.logger,
    timers: {
      setTimeout(fn, ms) {
        waits.push(ms);
        pending.push(fn);
        return pending.length;
      },
      clearTimeout: () => undefined,
    },
    random: () => 0,
  });
  return { streams, waits, bundle, swaps, log, follow, reopen: () => pending.shift()?.() };
}

const jwks = async () =>
  Buffer.from(jwksJson(createJwtKeySet(await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey)).keys));

test('publishes the bundle; an issuer fingerprint that changes re-issues, the first one does not', async () => {
  const w = world();
  const jwtBundle = await jwks();
  w.streams[0]?.message({ jwtBundle, issuerFingerprint: 'aa' });
  assert.equal(w.bundle.receiver.get()?.keys.length, 1);
  w.streams[0]?.message({ jwtBundle, issuerFingerprint: 'aa' });
  assert.deepEqual(w.swaps, []);
  w.streams[0]?.message({ jwtBundle, issuerFingerprint: 'bb' });
  assert.deepEqual(w.swaps, [0]);
  w.follow.close();
});

test('a broken stream is opened again with backoff; the bundle stands meanwhile; a reconnect to a swapped issuer re-issues', async () => {
  const w = world();
  const jwtBundle = await jwks();
  w.streams[0]?.message({ jwtBundle, issuerFingerprint: 'aa' });
  const kept = w.bundle.receiver.get();
  for (let i = 0; i < 3; i++) {
    w.streams.at(-1)?.end(new NodeServiceError('WatchBundles', status.UNAVAILABLE, 'connection refused'));
    w.reopen();
  }
  assert.deepEqual(w.waits, [500, 1_000, 2_000]);
  assert.equal(w.bundle.receiver.get(), kept, 'the last bundle is served through the outage');
  w.streams.at(-1)?.message({ jwtBundle, issuerFingerprint: 'cc' });
  assert.deepEqual(w.swaps, [0]);
  w.streams.at(-1)?.end(undefined);
  assert.equal(w.waits.at(-1), 500, 'a message starts the backoff over');
  w.follow.close();
});

test('an empty bundle means no JWT-SVIDs; one that does not parse keeps the last', async () => {
  const w = world();
  w.streams[0]?.message({ jwtBundle: Buffer.alloc(0), issuerFingerprint: 'aa' });
  assert.deepEqual(w.bundle.receiver.get(), { keys: [] });
  const jwtBundle = await jwks();
  w.streams[0]?.message({ jwtBundle, issuerFingerprint: 'aa' });
  const good = w.bundle.receiver.get();
  w.streams[0]?.message({ jwtBundle: Buffer.from('{"keys": 7}'), issuerFingerprint: 'aa' });
  assert.equal(w.bundle.receiver.get(), good);
  assert.ok(w.log.entries.some((e) => e.level === 'error' && String(e.msg).includes('does not parse')));
  w.follow.close();
});

test('an agent the issuer refuses says so once, at error level', () => {
  const w = world();
  for (let i = 0; i < 3; i++) {
    w.streams.at(-1)?.end(new NodeServiceError('WatchBundles', status.UNAUTHENTICATED, 'bad agent token'));
    w.reopen();
  }
  assert.equal(w.log.entries.filter((e) => e.level === 'error').length, 1);
  w.follow.close();
});
