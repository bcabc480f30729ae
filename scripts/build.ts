/**
 * `npm run build`: bundles the CLI (src/cli/main.ts) with its dependencies into dist/ with esbuild,
 * so that a start loads a few files instead of ~120 modules and their packages' graphs
 * (docs/performance.md, start-up). `tsc --noEmit` (`npm run typecheck`) stays the type check.
 *
 * - One entry, `dist/svid-agent.js` (what `bin/svid-agent.js` runs), and code splitting: every
 *   `import()` of the sources stays lazy, as a chunk `dist/chunk-<hash>.js` loaded only when that
 *   code runs (the Kubernetes attestor, the metrics library, each client command).
 * - External, loaded from node_modules at run time: koffi (a native addon), and
 *   @kubernetes/client-node, which only `--kubeconfig` loads (a large graph of its own, bundling
 *   it would not make that rare start faster and would hide it from the module-loading test).
 *   The YAML parser is loaded by `createRequire` (src/cli/config-file.ts), so it stays external too.
 * - CommonJS packages inside an ES module bundle call `require` for node's built-ins: the banner
 *   gives every output file one, made by `createRequire`.
 * - The packages' license comments are kept (esbuild's default: at the end of each file).
 * - `dist/meta.json`: esbuild's metafile (which source went into which file, static and dynamic
 *   imports), for looking into a build; test/bundle.test.ts makes its own.
 */
import { rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Packages left out of the bundle (see above). */
export const EXTERNAL_PACKAGES = ['koffi', '@kubernetes/client-node'] as const;

/** The esbuild options of the bundle, written to `outdir`. */
export function bundleOptions(outdir: string): BuildOptions & { metafile: true } {
  return {
    absWorkingDir: ROOT,
    entryPoints: { 'svid-agent': 'src/cli/main.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    chunkNames: 'chunk-[hash]',
    external: [...EXTERNAL_PACKAGES],
    banner: {
      js: "import { createRequire as __svidAgentCreateRequire } from 'node:module';\nconst require = __svidAgentCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'warning',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outdir = `${ROOT}dist`;
  await rm(outdir, { recursive: true, force: true });
  const result = await build({ ...bundleOptions(outdir), write: true });
  await writeFile(`${outdir}/meta.json`, JSON.stringify(result.metafile));
}
