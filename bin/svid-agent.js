#!/usr/bin/env node
// Entry point: runs the bundled CLI (dist/svid-agent.js, made by `npm run build`). It never
// compiles TypeScript at run time: that would cost the agent about 70 MB on every node, and one
// bundle starts in about half the time of the module graph it replaces (docs/performance.md).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// package.json `engines`: the one-shot `crypto.hash` came in 20.12 and 21.7.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 12) || (major === 21 && minor < 7)) {
  process.stderr.write(`svid-agent: Node.js ${process.versions.node} is too old; it needs 20.12 or newer (21.7 or newer on 21)\n`);
  process.exit(1);
}

const bundle = new URL('../dist/svid-agent.js', import.meta.url);
if (!existsSync(bundle)) {
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  // Exit 1, not 2: the command is right, the installation is not finished (docs/cli.md).
  process.stderr.write(`svid-agent: ${fileURLToPath(bundle)} is missing (build it first: cd ${root} && npm ci && npm run build)\n`);
  process.exit(1);
}
await import(bundle.href);
