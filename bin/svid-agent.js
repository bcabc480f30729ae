#!/usr/bin/env node
// Entry point: runs the compiled CLI (dist/, made by `npm run build`). It never compiles
// TypeScript at run time: that would cost the agent about 70 MB on every node (docs/performance.md).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  // Exit 1, not 2: the command is right, the installation is not finished (docs/cli.md).
  process.stderr.write(`svid-agent: ${fileURLToPath(compiled)} is missing (build it first: cd ${root} && npm ci && npm run build)\n`);
  process.exit(1);
}
await import(compiled.href);
