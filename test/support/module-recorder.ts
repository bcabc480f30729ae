/**
 * Records every module a process loads, for tests that assert what a command does NOT load.
 * Preload it (`--import <this file>`, after tsx) and set `MODULE_RECORD` to a file path: the
 * process appends to it, one per line and as they load, the URL of every module resolved through
 * the ES module loader (hooks on node's loader thread) and the path of every module loaded by
 * `require()` (CommonJS packages load their dependencies that way, past the ES loader). Lines are
 * written at once, so a process killed by a signal leaves a complete record.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

/** The CommonJS loader's internals that `require()` goes through. */
interface CjsLoader {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
  _resolveFilename(request: string, parent: unknown, isMain: boolean): string;
}

const out = process.env.MODULE_RECORD;
if (out) {
  register(new URL('./module-recorder-hooks.mjs', import.meta.url), { data: { out } });
  const loader = createRequire(import.meta.url)('node:module') as CjsLoader;
  const load = loader._load;
  loader._load = function recordLoad(request, parent, isMain) {
    const exports = load.call(this, request, parent, isMain);
    appendFileSync(out, `${loader._resolveFilename(request, parent, isMain)}\n`);
    return exports;
  };
}
