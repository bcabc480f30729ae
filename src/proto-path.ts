/**
 * Where the `.proto` files are: `proto/` at the package root, one level up from this module in
 * `src/` of a checkout, two from `dist/src/` after a build. Resolved on first use, not at import
 * time.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/**
 * Absolute path of a file under `proto/`, e.g. `protoPath('workload/workload.proto')`.
 * @throws TypeError when the package has no `proto/` directory (a broken install)
 */
export function protoPath(relative: string): string {
  if (root === undefined) {
    for (const up of ['../', '../../']) {
      const candidate = fileURLToPath(new URL(`${up}proto/`, import.meta.url));
      if (existsSync(`${candidate}workload/workload.proto`)) root = candidate;
      if (root) break;
    }
    if (root === undefined) throw new TypeError('proto/workload/workload.proto not found next to the svid-agent package');
  }
  return `${root}${relative}`;
}
