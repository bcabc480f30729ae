import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Http1Response, Http1ResponseReader, MAX_HEAD_BYTES } from './http1-response.js';

/** The response read from `wire` cut into `parts` pieces at the given offsets (`end` when the connection then closes). */
function read(
  wire: string | Buffer,
  cuts: readonly number[] = [],
  options: { end?: boolean; max?: number } = {},
): Http1Response | undefined {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const reader = new Http1ResponseReader(options.max ?? 1 << 20);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    const answer = reader.push(bytes.subarray(at, cut));
    at = cut;
    if (answer) return answer;
  }
  return options.end ? reader.end() : undefined;
}

/** `wire` read whole and cut at every single offset: the same response each time. */
function readEverySplit(wire: string, options: { end?: boolean } = {}): Http1Response {
  const whole = read(wire, [], options);
  assert.ok(whole, 'a complete response');
  for (let cut = 1; cut < wire.length; cut++) {
    const split = read(wire, [cut], options);
    assert.ok(split, `complete when cut at ${cut}`);
    assert.equal(split.status, whole.status);
    assert.equal(split.body.toString('latin1'), whole.body.toString('latin1'), `body when cut at ${cut}`);
    assert.equal(split.reusable, whole.reusable);
  }
  return whole;
}

const JSON_BODY = '{"kind":"TokenReview","status":{"authenticated":true}}';

describe('Http1ResponseReader', () => {
  test('a Content-Length body, cut anywhere; header names case-insensitive, repeats joined', () => {
    const r = readEverySplit(
      `HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nAudit-Id: a\r\naudit-id: b\r\nContent-Length: ${JSON_BODY.length}\r\n\r\n${JSON_BODY}`,
    );
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('audit-id'), 'a, b');
    assert.equal(r.body.toString(), JSON_BODY);
    assert.equal(r.reusable, true);
  });

  test('a chunked body, cut anywhere, with chunk extensions and trailer fields', () => {
    const r = readEverySplit(
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n{"a":\r\n1b\r\n"bcdefghijklmnopqrstuvwxyz"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n`,
    );
    assert.equal(r.body.toString(), '{"a":"bcdefghijklmnopqrstuvwxyz"}');
    assert.equal(r.reusable, true);
  });

  test('interim responses are skipped; 101 is refused', () => {
    const r = readEverySplit(
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}',
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), '{}');
    assert.throws(() => read('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n'), /switched protocols/);
  });

  test('a body without framing runs to the end of the connection, which is then not reused', () => {
    const r = readEverySplit('HTTP/1.1 200 OK\r\n\r\n{"x":1}', { end: true });
    assert.equal(r.body.toString(), '{"x":1}');
    assert.equal(r.reusable, false);
  });

  test('not reusable: Connection: close, HTTP/1.0, or octets after the response', () => {
    assert.equal(read('HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n')?.reusable, false);
    assert.equal(read('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')?.reusable, false);
    assert.equal(read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1')?.reusable, false);
    assert.equal(read('HTTP/1.1 204 No Content\r\n\r\n')?.reusable, true, '204 has no body');
  });

  test('an incomplete response when the connection ends is an error', () => {
    const reader = new Http1ResponseReader(1024);
    assert.equal(reader.received, false);
    assert.throws(() => reader.end(), /without a response/);
    const partial = new Http1ResponseReader(1024);
    assert.equal(partial.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{"a"')), undefined);
    assert.equal(partial.received, true);
    assert.throws(() => partial.end(), /in the middle of a response body/);
  });

  test('malformed heads are refused', () => {
    for (const [wire, message] of [
      ['HTTP/2 200\r\n\r\n', /malformed status line/],
      ['HTTP/1.1 20 OK\r\n\r\n', /malformed status line/],
      ['ICY 200 OK\r\n\r\n', /malformed status line/],
      ['HTTP/1.1 200 OK\r\nContent-Type : a\r\n\r\n', /malformed header field/],
      ['HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n', /malformed header field/],
      ['HTTP/1.1 200 OK\r\nno colon\r\n\r\n', /malformed header field/],
      ['HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n', /malformed content-length/],
      ['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /malformed content-length/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', /transfer coding other than chunked/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n', /transfer coding other than chunked/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /malformed chunk size/],
      ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XY', /malformed chunk/],
    ] as const) {
      assert.throws(() => read(wire), message, JSON.stringify(wire));
    }
  });

  test('bounds: interim responses, trailers, and a declared length refused before its body', () => {
    assert.throws(() => read('HTTP/1.1 100 Continue\r\n\r\n'.repeat(11)), /too many interim responses/);
    assert.ok(read(`${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(10)}HTTP/1.1 204 No Content\r\n\r\n`));
    const trailer = `X: ${'t'.repeat(1000)}\r\n`;
    assert.throws(
      () => read(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${trailer.repeat(70)}\r\n`),
      /trailers are longer than/,
    );
    assert.throws(() => read('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n', [], { max: 10 }), /longer than 10 bytes/);
  });

  test('bounds: the head, a chunk line, and the body', () => {
    const longHead = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    assert.throws(() => read(longHead), /head is longer than/);
    assert.throws(
      () => read(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(MAX_HEAD_BYTES)}`),
      /overlong chunk line/,
    );
    assert.throws(() => read('HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n01234567890', [], { max: 10 }), /longer than 10 bytes/);
    assert.throws(
      () => read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n012345\r\n6\r\n012345\r\n', [], { max: 10 }),
      /longer than 10 bytes/,
    );
    assert.throws(() => read('HTTP/1.1 200 OK\r\n\r\n01234567890', [], { end: true, max: 10 }), /longer than 10 bytes/);
  });
});
