/**
 * The kept-alive pool against the strict fake API, counting TLS connections on the server's
 * side: sequential calls share one connection, a burst opens at most the pool size.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type FakeKubeApi, startFakeKubeApi } from '../../test/fakes/kube-api.js';
import { silentLogger } from '../log.js';
import { createKubeApi, describeKubeFailure, type KubeClientConfig, loadKubeConfig } from './kube-client.js';
import { createKubeHttp, DEFAULT_MAX_SOCKETS, KubeHttpError, KubeTimeoutError } from './kube-http.js';
import { createTokenReviewValidator } from './token-review.js';

const ACCESS_REVIEW = {
  apiVersion: 'authorization.k8s.io/v1',
  kind: 'SelfSubjectAccessReview',
  spec: { resourceAttributes: { verb: 'create', group: 'authentication.k8s.io', resource: 'tokenreviews' } },
};

describe('kube http pool', () => {
  let api: FakeKubeApi;
  let config: KubeClientConfig;
  before(async () => {
    api = await startFakeKubeApi();
    config = await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath });
  });
  after(() => api.close());

  const mintTokens = (n: number) =>
    Promise.all(
      Array.from({ length: n }, (_, i) =>
        api.mintServiceAccountToken({ namespace: 'ns', serviceAccount: `sa-${i}`, audiences: ['identity.l5d.io'] }),
      ),
    );

  test('100 sequential TokenReviews of distinct tokens use one connection', async () => {
    const kube = createKubeApi(config);
    const validator = createTokenReviewValidator({ api: kube, logger: silentLogger() });
    const tokens = await mintTokens(100);
    const before = { ...api.counts };
    try {
      for (const token of tokens) await validator.validate(token);
    } finally {
      validator.close();
      kube.close();
    }
    assert.equal(api.counts.tokenReviews - before.tokenReviews, 100);
    assert.equal(api.counts.connections - before.connections, 1);
  });

  test('a burst of 100 opens at most the pool size', async () => {
    const kube = createKubeApi(config);
    const validator = createTokenReviewValidator({ api: kube, logger: silentLogger() });
    const tokens = await mintTokens(100);
    const before = { ...api.counts };
    try {
      const validated = await Promise.all(tokens.map((token) => validator.validate(token)));
      assert.equal(new Set(validated.map((v) => v.account.name)).size, 100);
    } finally {
      validator.close();
      kube.close();
    }
    assert.equal(api.counts.tokenReviews - before.tokenReviews, 100);
    const opened = api.counts.connections - before.connections;
    assert.ok(opened >= 1 && opened <= DEFAULT_MAX_SOCKETS, `${opened} connections`);
  });

  test('connections the server closed are replaced', async () => {
    const kube = createKubeApi(config);
    try {
      const [token] = await mintTokens(1);
      const review = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['identity.l5d.io'] } };
      await kube.createTokenReview(review);
      const opened = api.counts.connections;
      await api.restore(); // destroys every open connection, the kept-alive one too
      const answer = await kube.createTokenReview(review);
      assert.equal(answer.status?.authenticated, true);
      assert.equal(api.counts.connections, opened + 1);
    } finally {
      kube.close();
    }
  });

  test('a call whose TLS options cannot be used fails alone; the calls queued behind it go on', async () => {
    let calls = 0;
    const badSecond: KubeClientConfig = {
      server: config.server,
      origin: config.origin,
      async target() {
        const target = await config.target();
        calls += 1;
        return calls === 2 ? { ...target, tls: { ...target.tls, cert: 'not a certificate', key: 'not a key' } } : target;
      },
    };
    const http = createKubeHttp(badSecond, { maxSockets: 1 });
    try {
      const results = await Promise.allSettled(
        [1, 2, 3].map(() => http.postJson('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', ACCESS_REVIEW, { timeoutMs: 10_000 })),
      );
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled'],
      );
      assert.ok(!((results[1] as PromiseRejectedResult).reason instanceof KubeTimeoutError), 'refused at once, not timed out');
    } finally {
      http.close();
    }
  });

  test('a refusal is a KubeHttpError with the status and the body', async (t) => {
    t.after(() => api.restore());
    const kube = createKubeApi(config);
    try {
      api.fail(503);
      const err = await kube.createSelfSubjectAccessReview(ACCESS_REVIEW).then(
        () => assert.fail('no error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof KubeHttpError);
      assert.equal(err.status, 503);
      assert.equal((JSON.parse(err.body) as { reason: string }).reason, 'ServiceUnavailable');
    } finally {
      kube.close();
    }
  });

  test('a call past its time limit rejects with a KubeTimeoutError; the next call is answered on a new connection', async (t) => {
    t.after(() => api.restore());
    const kube = createKubeApi(config);
    try {
      await kube.createSelfSubjectAccessReview(ACCESS_REVIEW, { timeoutMs: 5_000 });
      const connections = api.counts.connections;
      api.hang();
      await assert.rejects(kube.createSelfSubjectAccessReview(ACCESS_REVIEW, { timeoutMs: 100 }), (err: unknown) => {
        assert.ok(err instanceof KubeTimeoutError);
        assert.equal(describeKubeFailure(err), 'kubernetes api did not answer within 100 ms');
        return true;
      });
      await api.restore();
      await kube.createSelfSubjectAccessReview(ACCESS_REVIEW, { timeoutMs: 5_000 });
      assert.equal(api.counts.connections, connections + 1, 'the hung connection was closed, not reused');
    } finally {
      kube.close();
    }
  });
});

/**
 * A plain-HTTP server that answers the n-th request it reads (counted over all connections) as
 * `script(n)` says: a response to write, `'close'` to close that connection unanswered.
 */
async function scriptedServer(
  script: (n: number) => string | 'close',
): Promise<{ server: Server; url: string; connections: () => number; requests: string[]; nextClose: () => Promise<void> }> {
  const requests: string[] = [];
  let connections = 0;
  const closeWaiters: Array<() => void> = [];
  const server = createServer((socket: Socket) => {
    connections += 1;
    socket.on('close', () => {
      for (const wake of closeWaiters.splice(0)) wake();
    });
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(pending.slice(0, headEnd))?.[1] ?? 0);
        if (pending.length < headEnd + 4 + length) return;
        requests.push(pending.slice(0, headEnd + 4 + length));
        pending = pending.slice(headEnd + 4 + length);
        const answer = script(requests.length);
        if (answer === 'close') {
          socket.destroy();
          return;
        }
        socket.write(answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests,
    nextClose: () => new Promise<void>((resolve) => closeWaiters.push(resolve)),
  };
}

const ok = (body: string): string => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
const plainConfig = (server: string, headers: Record<string, string> = {}): KubeClientConfig => ({
  server,
  origin: 'a test',
  target: async () => ({ tls: {}, headers }),
});

describe('kube http requests and responses', () => {
  test('one write per request: the head with Host, the headers given, and the JSON body', async (t) => {
    const fake = await scriptedServer(() => ok('{"a":1}'));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(`${fake.url}/prefix/`, { authorization: 'Bearer t' }));
    try {
      assert.deepEqual(await http.postJson('/apis/x', { b: 2 }), { a: 1 });
      const request = fake.requests[0] ?? '';
      assert.match(request, /^POST \/prefix\/apis\/x HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
      assert.match(request, /\r\nauthorization: Bearer t\r\n/);
      assert.match(request, /\r\nContent-Type: application\/json\r\nContent-Length: 7\r\n\r\n\{"b":2\}$/);
    } finally {
      http.close();
    }
  });

  test('a reused connection the server closed unanswered: the request is sent once more, on a new one', async (t) => {
    const fake = await scriptedServer((n) => (n === 2 ? 'close' : ok(`{"n":${n}}`)));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url));
    try {
      assert.deepEqual(await http.postJson('/a', {}), { n: 1 });
      assert.deepEqual(await http.postJson('/a', {}), { n: 3 });
      assert.equal(fake.connections(), 2);
    } finally {
      http.close();
    }
  });

  test('resent while the connections met were reused ones: every stale idle connection, then a new one', async (t) => {
    // Requests 1 and 2 leave two idle connections; the server then closes each unanswered.
    const fake = await scriptedServer((n) => (n === 3 || n === 4 ? 'close' : ok(`{"n":${n}}`)));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url));
    try {
      await Promise.all([http.postJson('/a', {}), http.postJson('/a', {})]);
      assert.equal(fake.connections(), 2);
      assert.deepEqual(await http.postJson('/a', {}), { n: 5 });
      assert.equal(fake.connections(), 3);
    } finally {
      http.close();
    }
  });

  test('never resent on a new connection: a resent request whose new connection closes too fails, and so does a first request', async (t) => {
    const fake = await scriptedServer((n) => (n === 1 ? ok('{}') : 'close'));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url));
    try {
      await http.postJson('/a', {});
      await assert.rejects(http.postJson('/a', {}), /closed the connection without a response/);
      assert.equal(fake.requests.length, 3, 'sent, resent once on a new connection, not more');
      await assert.rejects(http.postJson('/a', {}), /closed the connection without a response/);
      assert.equal(fake.requests.length, 4, 'a new connection is not resent');
    } finally {
      http.close();
    }
  });

  test('a malformed answer fails the call and closes its connection; the next call opens another', async (t) => {
    const fake = await scriptedServer((n) => (n === 1 ? 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n' : ok('{}')));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url));
    try {
      await assert.rejects(http.postJson('/a', {}), /malformed content-length/);
      assert.deepEqual(await http.postJson('/a', {}), {});
      assert.equal(fake.connections(), 2);
    } finally {
      http.close();
    }
  });

  test('Connection: close is honoured: the next call opens another connection', async (t) => {
    const fake = await scriptedServer(() => 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}');
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url));
    try {
      await http.postJson('/a', {});
      await http.postJson('/a', {});
      assert.equal(fake.connections(), 2);
    } finally {
      http.close();
    }
  });

  test('a header that could break the message is refused before anything is sent', async (t) => {
    const fake = await scriptedServer(() => ok('{}'));
    t.after(() => fake.server.close());
    const refused: Array<Record<string, string>> = [
      { authorization: 'Bearer t\r\nX-Injected: 1' },
      { 'bad name': 'v' },
      { authorization: 'a\0b' },
      // Cut to its low octet by a latin1 head, U+010D U+010A would be CR LF.
      { authorization: 'Bearer t\u010d\u010aX-Injected: 1' },
      { 'impersonate-user': '\u0141ukasz' },
    ];
    for (const headers of refused) {
      const http = createKubeHttp(plainConfig(fake.url, headers));
      try {
        await assert.rejects(http.postJson('/a', {}), TypeError);
      } finally {
        http.close();
      }
    }
    assert.equal(fake.connections(), 0);
  });

  test('an idle connection is closed after the idle timeout, and the next call opens another', async (t) => {
    const fake = await scriptedServer(() => ok('{}'));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url), { idleTimeoutMs: 20 });
    try {
      const closed = fake.nextClose();
      await http.postJson('/a', {});
      await closed;
      await http.postJson('/a', {});
      assert.equal(fake.connections(), 2);
    } finally {
      http.close();
    }
  });

  test('octets arriving on an idle connection close it; the next call opens another', async (t) => {
    let stray: Socket | undefined;
    const fake = await scriptedServer(() => ok('{}'));
    fake.server.on('connection', (socket: Socket) => {
      stray ??= socket;
    });
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url));
    try {
      await http.postJson('/a', {});
      const closed = fake.nextClose();
      stray?.write('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n');
      await closed;
      assert.deepEqual(await http.postJson('/a', {}), {});
      assert.equal(fake.connections(), 2);
    } finally {
      http.close();
    }
  });

  test('a call whose time runs out while it waits for a connection fails unsent, and the connection stays', async (t) => {
    const sockets: Socket[] = [];
    const fake = await scriptedServer(() => ''); // answers only when the test writes
    fake.server.on('connection', (socket: Socket) => sockets.push(socket));
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url), { maxSockets: 1 });
    const until = async (done: () => boolean): Promise<void> => {
      while (!done()) await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      const first = http.postJson('/a', {});
      await assert.rejects(http.postJson('/a', {}, { timeoutMs: 1 }), KubeTimeoutError);
      await until(() => fake.requests.length === 1);
      sockets[0]?.write(ok('{"n":1}'));
      assert.deepEqual(await first, { n: 1 });
      const third = http.postJson('/a', {});
      await until(() => fake.requests.length === 2);
      sockets[0]?.write(ok('{"n":3}'));
      assert.deepEqual(await third, { n: 3 });
      assert.equal(fake.connections(), 1, 'the queued call was never sent, and the kept-alive connection stayed');
    } finally {
      http.close();
    }
  });

  test('close() fails the call in flight and the call waiting for a connection', async (t) => {
    const fake = await scriptedServer(() => ''); // reads requests, never answers
    t.after(() => fake.server.close());
    const http = createKubeHttp(plainConfig(fake.url), { maxSockets: 1 });
    const inFlight = http.postJson('/a', {});
    const waiting = http.postJson('/a', {});
    while (fake.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    http.close();
    await Promise.all([assert.rejects(inFlight, /closed the connection/), assert.rejects(waiting, /client is closed/)]);
    assert.equal(fake.requests.length, 1);
  });
});
