import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkSocketPathLength, parseSocketOption, parseUnixSocketUri } from './socket-address.js';

describe('parseUnixSocketUri (SPIFFE_ENDPOINT_SOCKET)', () => {
  const good: Array<[string, string]> = [
    ['unix:///run/spire/sockets/agent.sock', '/run/spire/sockets/agent.sock'],
    ['unix:/run/agent.sock', '/run/agent.sock'],
    ['UNIX:///run/agent.sock', '/run/agent.sock'],
    ['unix:///tmp/with%20space.sock', '/tmp/with space.sock'],
  ];
  for (const [uri, path] of good) {
    it(`reads ${uri}`, () => assert.deepEqual(parseUnixSocketUri(uri), { path }));
  }
  const bad: Array<[string, RegExp]> = [
    ['tcp://127.0.0.1:8000', /unsupported scheme "tcp:" \(only unix: sockets are supported/],
    ['/run/agent.sock', /is not a unix: URI \(write unix:\/\/\/run\/agent\.sock\)/],
    ['unix://tmp/agent.sock', /must not have an authority; write unix:\/\/\/abs\/path/],
    ['unix:relative.sock', /must hold an absolute socket path/],
    ['unix:///run/a.sock?x=1', /must not have a query or fragment/],
    ['unix:///run/a.sock#frag', /must not have a query or fragment/],
    ['unix://', /must hold an absolute socket path/],
  ];
  for (const [uri, expected] of bad) {
    it(`rejects ${uri}`, () => {
      const result = parseUnixSocketUri(uri);
      assert.equal(typeof result, 'string');
      assert.match(result as string, expected);
    });
  }
});

describe('parseSocketOption (--socket)', () => {
  it('resolves a relative path against cwd', () => assert.deepEqual(parseSocketOption('a/b.sock', '/work'), { path: '/work/a/b.sock' }));
  it('keeps an absolute path', () => assert.deepEqual(parseSocketOption('/run/x.sock', '/work'), { path: '/run/x.sock' }));
  it('accepts a unix: URI', () => assert.deepEqual(parseSocketOption('unix:///run/x.sock', '/work'), { path: '/run/x.sock' }));
  it('rejects an empty value', () => assert.equal(parseSocketOption('', '/work'), 'must not be empty'));
  it('rejects a path too long for sun_path', () => assert.match(String(parseSocketOption(`/${'x'.repeat(107)}`, '/')), /108 bytes long/));
  it('allows exactly 107 bytes', () => assert.equal(checkSocketPathLength(`/${'x'.repeat(106)}`), undefined));
});
