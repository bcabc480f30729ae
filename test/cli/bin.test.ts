/**
 * `bin/svid-agent.js`, the installed entry point: it runs the bundled CLI (`dist/svid-agent.js`)
 * and nothing else; without the bundle it says, in one line, how to build it. (Tests run the sources through
 * test/support/svid-agent-command.ts; test/image-install.test.ts runs a freshly built bin.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function runBin(bin: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

describe('bin/svid-agent.js', () => {
  let root: string;
  let bin: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'svid-agent-bin-'));
    await cp(join(ROOT, 'bin'), join(root, 'bin'), { recursive: true });
    await cp(join(ROOT, 'package.json'), join(root, 'package.json'));
    bin = join(root, 'bin/svid-agent.js');
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('without the bundle exits 1 with one line that says how to build it', async () => {
    const r = await runBin(bin, ['run', '--dev']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    const lines = r.stderr.split('\n');
    assert.equal(lines.length, 2, r.stderr);
    assert.equal(lines[1], '');
    assert.equal(
      lines[0],
      `svid-agent: ${join(root, 'dist/svid-agent.js')} is missing (build it first: cd ${root} && npm ci && npm run build)`,
    );
  });

  it('runs dist/svid-agent.js with the arguments, and nothing else', async () => {
    await mkdir(join(root, 'dist'), { recursive: true });
    await writeFile(join(root, 'dist/svid-agent.js'), 'process.stdout.write(JSON.stringify(process.argv.slice(2)));\n');
    const r = await runBin(bin, ['api', 'fetch', 'x509']);
    assert.deepEqual(
      { code: r.code, stdout: JSON.parse(r.stdout), stderr: r.stderr },
      { code: 0, stdout: ['api', 'fetch', 'x509'], stderr: '' },
    );
  });
});
