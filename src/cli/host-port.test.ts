import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkHostPort } from './host-port.js';

describe('checkHostPort', () => {
  for (const ok of ['', '127.0.0.1:9090', '0.0.0.0:0', '[::1]:9090', 'localhost:80', 'agent.example.org:65535']) {
    it(`accepts ${JSON.stringify(ok)}`, () => assert.equal(checkHostPort(ok), undefined));
  }
  for (const bad of ['9090', ':9090', 'host:', 'host:99999', '[zz]:1', '::1:9090', 'a b:1', 'host:port']) {
    it(`rejects ${JSON.stringify(bad)}`, () => assert.ok(checkHostPort(bad)));
  }
});
