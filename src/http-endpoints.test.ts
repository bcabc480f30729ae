import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { captureLogger } from '../test/support/log-capture.js';
import { isAgentError } from './errors.js';
import { type HttpEndpoints, readinessReport, startHttpEndpoints } from './http-endpoints.js';
import { createValueChannel } from './value-channel.js';

const METRICS = { contentType: 'text/plain; version=0.0.4; charset=utf-8', render: async () => 'svid_agent_ready 1\n' };

/** One request on a connection of its own, as a probe makes it. */
function call(url: string, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('readinessReport', () => {
  test('ready only when every check holds, naming each', () => {
    assert.deepEqual(readinessReport({ issuer: { get: () => true }, socket: { get: () => false } }), {
      ready: false,
      checks: { issuer: true, socket: false },
    });
    assert.equal(readinessReport({ issuer: { get: () => true } }).ready, true);
  });
});

describe('http endpoints', () => {
  const issuer = createValueChannel(false);
  const socket = createValueChannel(true);
  const log = captureLogger('trace');
  let http: HttpEndpoints;

  before(async () => {
    http = await startHttpEndpoints({
      address: '127.0.0.1:0',
      readiness: { issuer: issuer.receiver, socket: socket.receiver },
      metrics: METRICS,
      logger: log.logger,
    });
  });
  after(() => http.close());

  test('binds the port asked for (0: a free one) and says where', () => {
    assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(log.entries.some((e) => e.msg === 'serving health and metrics' && e.url === http.url));
  });

  test('/live answers 200 while the process serves', async () => {
    const r = await call(http.url, '/live');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { live: true });
  });

  test('/ready is 503 until the issuer is loaded, then 200; the body names the checks', async () => {
    const before = await call(http.url, '/ready');
    assert.equal(before.status, 503);
    assert.equal(before.type, 'application/json');
    assert.deepEqual(JSON.parse(before.body), { ready: false, checks: { issuer: false, socket: true } });
    issuer.sink.set(true);
    const ready = await call(http.url, '/ready?verbose=1');
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { ready: true, checks: { issuer: true, socket: true } });
    socket.sink.set(false);
    assert.equal((await call(http.url, '/ready')).status, 503);
    socket.sink.set(true);
  });

  test('/metrics serves the Prometheus text with its content type', async () => {
    const r = await call(http.url, '/metrics');
    assert.equal(r.status, 200);
    assert.equal(r.type, METRICS.contentType);
    assert.equal(r.body, 'svid_agent_ready 1\n');
  });

  test('unknown paths are 404, other methods 405, HEAD has no body', async () => {
    assert.equal((await call(http.url, '/')).status, 404);
    assert.equal((await call(http.url, '/healthz')).status, 404);
    assert.equal((await call(http.url, '/live', 'POST')).status, 405);
    const head = await call(http.url, '/live', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('requests are not logged', () => {
    assert.deepEqual(
      log.entries.map((e) => e.msg),
      ['serving health and metrics'],
    );
  });
});

describe('http endpoints failures', () => {
  test('a metrics failure is a 500 and one warning, not a crash', async () => {
    const log = captureLogger('trace');
    const http = await startHttpEndpoints({
      address: '127.0.0.1:0',
      readiness: {},
      metrics: { contentType: 'text/plain', render: () => Promise.reject(new Error('collect failed')) },
      logger: log.logger,
    });
    try {
      assert.equal((await call(http.url, '/metrics')).status, 500);
      assert.ok(log.entries.some((e) => e.level === 'warn' && e.msg === 'http request failed' && e.error === 'collect failed'));
      assert.equal((await call(http.url, '/live')).status, 200);
    } finally {
      await http.close();
    }
  });

  test('an address in use is a clear start-up error naming it', async () => {
    const log = captureLogger();
    const first = await startHttpEndpoints({ address: '127.0.0.1:0', readiness: {}, metrics: METRICS, logger: log.logger });
    const address = first.url.replace('http://', '');
    try {
      await assert.rejects(
        startHttpEndpoints({ address, readiness: {}, metrics: METRICS, logger: log.logger }),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && err.message === `--health-addr ${address}: cannot listen (EADDRINUSE)`,
      );
    } finally {
      await first.close();
    }
  });

  test('close stops listening, also with keep-alive connections open, and is idempotent', async () => {
    const http = await startHttpEndpoints({ address: '127.0.0.1:0', readiness: {}, metrics: METRICS, logger: captureLogger().logger });
    const keptAlive = await fetch(`${http.url}/live`);
    assert.equal(keptAlive.status, 200);
    await keptAlive.text();
    await Promise.all([http.close(), http.close()]);
    await assert.rejects(call(http.url, '/live'), /ECONNREFUSED/);
  });
});
