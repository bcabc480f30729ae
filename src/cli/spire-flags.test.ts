import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rewriteSpireFlags, suggestFlag } from './spire-flags.js';

const VALUE_FLAGS = new Set(['socket', 'write', 'audience', 'svid', 'output', 'timeout', 'config', 'spiffe-id', 'trust-domain']);
const rewrite = (...argv: string[]) => rewriteSpireFlags(argv, (long) => VALUE_FLAGS.has(long));

describe('rewriteSpireFlags', () => {
  it("rewrites SPIRE's names in Go's forms", () => {
    assert.deepEqual(rewrite('api', 'fetch', '-socketPath', '/s', '-write', 'd', '-silent'), [
      'api',
      'fetch',
      '--socket',
      '/s',
      '--write',
      'd',
      '--silent',
    ]);
    assert.deepEqual(rewrite('--socketPath=/s', '-spiffeID=x', '-format', 'json'), ['--socket=/s', '--spiffe-id=x', '--output', 'json']);
  });

  it('leaves values, our own flags, short flags and everything after -- alone', () => {
    assert.deepEqual(rewrite('--audience', '-svid', '--svid', '-write'), ['--audience', '-svid', '--svid', '-write']);
    assert.deepEqual(rewrite('-socketPath', '-write'), ['--socket', '-write']);
    assert.deepEqual(rewrite('--trust-domain', 'x', '-h', '-v'), ['--trust-domain', 'x', '-h', '-v']);
    assert.deepEqual(rewrite('--', '-socketPath'), ['--', '-socketPath']);
    assert.deepEqual(rewrite('-socketpath', '-constructor', '-toString'), ['-socketpath', '-constructor', '-toString']);
  });
});

describe('suggestFlag', () => {
  const longs = ['socket', 'spiffe-id', 'trust-domain'];
  it('matches across case, dashes and underscores, and through SPIRE names', () => {
    assert.equal(suggestFlag('--socket-path', longs), '--socket');
    assert.equal(suggestFlag('--Trust_Domain=x', longs), '--trust-domain');
    assert.equal(suggestFlag('--spiffeid', longs), '--spiffe-id');
    assert.equal(suggestFlag('--nothing', longs), undefined);
  });
});
