/**
 * The agent's modules as users run them: compiled JavaScript, not the TypeScript sources through
 * tsx. `npm run build` makes one bundle, whose modules cannot be imported one by one, so this
 * compiles `src/` module by module with the bundle's own esbuild settings (scripts/build.ts:
 * ES modules, node20) into `dist/modules/`, once per process. They are imported by a computed
 * path, so the type check of `bench/` never needs them; the caller names the module's type from
 * its source, e.g. `compiled<typeof import('../src/log.js')>('src/log.js')`.
 */
import { readdirSync } from 'node:fs';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/build.js';

const ROOT = new URL('..', import.meta.url);
let built: Promise<unknown> | undefined;

/** Compiles every non-test source file (and the JSON it imports) to `dist/modules/src/`. */
function buildModules(): Promise<unknown> {
  const sources = readdirSync(new URL('src/', ROOT), { recursive: true })
    .map(String)
    .filter((file) => (file.endsWith('.ts') && !/\.test(-support)?\.ts$/.test(file)) || file.endsWith('.json'))
    .map((file) => `src/${file}`);
  const { absWorkingDir, format, platform, target } = bundleOptions('dist');
  return build({
    absWorkingDir,
    format,
    platform,
    target,
    entryPoints: sources,
    outbase: '.',
    outdir: 'dist/modules',
    bundle: false,
    loader: { '.json': 'copy' },
    logLevel: 'warning',
  });
}

/** The compiled module of the source file `source` (a path from the repository root, `.js` or `.ts`). */
export async function compiled<Module>(source: string): Promise<Module> {
  built ??= buildModules();
  await built;
  return (await import(new URL(`dist/modules/${source.replace(/\.ts$/, '.js')}`, ROOT).href)) as Module;
}
