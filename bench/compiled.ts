/**
 * The agent's modules as users run them: compiled, from `dist/` (`npm run bench` builds it
 * first), not the TypeScript sources through tsx. They are imported by a computed path, so the
 * type check of `bench/` (part of `npm test`, which may run before any build) never needs `dist/`;
 * the caller names the module's type from its source, e.g.
 * `compiled<typeof import('../src/log.js')>('src/log.js')`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The compiled module of the source file `source` (a path from the repository root, `.js` or
 * `.ts`). Exits the benchmark with a message when `dist/` has not been built.
 */
export async function compiled<Module>(source: string): Promise<Module> {
  const url = new URL(`../dist/${source.replace(/\.ts$/, '.js')}`, import.meta.url);
  if (!existsSync(url)) {
    console.error(`${fileURLToPath(url)} is missing: build first (npm run build; npm run bench builds by itself)`);
    process.exit(2);
  }
  return (await import(url.href)) as Module;
}
