import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RUN_FLAGS } from './run-options.js';

describe('RUN_FLAGS', () => {
  it('lists every run flag of the contract, plus --jwt-ttl, --shutdown-timeout and the connection limits', () => {
    const spec = [
      'dev',
      'config',
      'socket',
      'trust-domain',
      'trust-anchors',
      'issuer-dir',
      'jwt-key',
      'issuer-addr',
      'issuer-server-name',
      'issuer-plaintext',
      'agent-token-path',
      'attestor',
      'kubeconfig',
      'node-name',
      'proc-root',
      'token-path',
      'token-audience',
      'identity-domain',
      'svid-ttl',
      'clock-skew',
      'min-refresh',
      'max-refresh',
      'svid-idle-ttl',
      'health-addr',
      'log-level',
      'jwt-ttl',
      'shutdown-timeout',
      'max-connections',
      'max-caller-connections',
      'max-streams',
      'max-caller-streams',
    ];
    assert.deepEqual([...RUN_FLAGS].sort(), spec.sort());
  });
});
