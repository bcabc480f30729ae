import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invocation } from './invocation.js';

test('invocation: the program as it was run, node options included, the script relative to cwd when below it', () => {
  assert.equal(invocation('/usr/local/bin/svid-agent', '/home/a'), 'svid-agent');
  assert.equal(invocation('/home/a/repo/bin/svid-agent.js', '/home/a/repo'), 'node bin/svid-agent.js');
  assert.equal(invocation('/opt/x y/bin/svid-agent.js', '/home/a'), "node '/opt/x y/bin/svid-agent.js'");
  assert.equal(
    invocation('/repo/src/cli/main.ts', '/tmp', ['--import', 'file:///repo/node_modules/tsx/dist/loader.mjs']),
    'node --import file:///repo/node_modules/tsx/dist/loader.mjs /repo/src/cli/main.ts',
  );
});
