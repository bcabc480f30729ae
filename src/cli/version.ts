/**
 * The version `svid-agent --version` prints: the `version` of the package's own package.json,
 * found from this module's location (`src/cli/` in a checkout, `dist/` in the bundle).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package version, e.g. `0.1.0`; `unknown` when package.json cannot be found or read. */
export function packageVersion(): string {
  for (const up of ['../', '../../']) {
    const path = fileURLToPath(new URL(`${up}package.json`, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      const { name, version } = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
      if (name === 'svid-agent' && typeof version === 'string') return version;
    } catch {
      // A broken package.json is not worth failing `--version` over.
    }
  }
  return 'unknown';
}
