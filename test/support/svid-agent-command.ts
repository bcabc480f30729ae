/**
 * The one way tests start `svid-agent` as a process: this checkout's TypeScript sources through
 * tsx (`node --import tsx src/cli/main.ts ...`), never `bin/svid-agent.js`, which runs `dist/` and
 * would test whatever was built last. Only the image-layout test passes `entry`: a bin it has just
 * built. Every test that spawns the CLI or the agent goes through {@link spawnSvidAgent} or
 * {@link svidAgentArgv}.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI's source entry point. */
export const SOURCE_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
/** tsx's loader, found from this checkout: `--import tsx` would be looked up from the child's cwd. */
const TSX = import.meta.resolve('tsx');

/** Where the process starts from: the sources (default) or a freshly built `bin/svid-agent.js`. */
export interface SvidAgentEntry {
  /** A built `bin/svid-agent.js`; default: the sources through tsx. */
  readonly entry?: string;
  /** More options for node itself (e.g. `--import` of a module recorder), after tsx. */
  readonly nodeOptions?: readonly string[];
}

/** The arguments after `process.execPath` that run `svid-agent <args>`. */
export function svidAgentArgv(args: readonly string[], options: SvidAgentEntry = {}): string[] {
  const node = options.nodeOptions ?? [];
  return options.entry === undefined ? ['--import', TSX, ...node, SOURCE_MAIN, ...args] : [...node, options.entry, ...args];
}

/** Spawns `svid-agent <args>` with `spawnOptions` (stdio, cwd, env, uid, ...). */
export function spawnSvidAgent(args: readonly string[], options: SvidAgentEntry & SpawnOptions = {}): ChildProcess {
  const { entry, nodeOptions, ...spawnOptions } = options;
  return spawn(process.execPath, svidAgentArgv(args, { entry, nodeOptions }), spawnOptions);
}
