/**
 * `svid-agent api fetch x509` (like `spire-agent api fetch x509`): read one FetchX509SVID
 * message, check it, print it (pretty, or JSON exactly as spire-agent prints it) and optionally
 * write `svid.N.pem`, `svid.N.key` (0600) and `bundle.N.pem` to a directory. In JSON mode stdout
 * holds only the JSON: the "Writing ..." lines go to stderr.
 */
import type { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { certificateValidity } from '../certificate-validity.js';
import { AgentError } from '../errors.js';
import { explainCallError } from './call-errors.js';
import { type CliIo, reportFailure } from './cli-io.js';
import { EXIT, type ExitCode } from './exit.js';
import { ensureDirectoryFor } from './flag-dirs.js';
import { formatSpireJson, x509SvidResponseJson } from './spire-json.js';
import { type CheckedSvid, checkX509Response } from './svid-check.js';
import { fetchX509Once, type X509SVIDResponse } from './workload-client.js';
import { writeFileAtomic } from './write-file.js';

/** Output formats of `--output`. */
export const OUTPUT_FORMATS = ['pretty', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Options of {@link runFetchX509}. */
export interface FetchX509CommandOptions {
  /** Absolute path of the agent socket. */
  readonly socketPath: string;
  /** How long to wait for the first message, in ms (`--timeout`, default 5s). */
  readonly timeoutMs: number;
  /** `--output`, default `pretty`. */
  readonly output: OutputFormat;
  /** `--write DIR`: also write the SVIDs, keys and bundles there. */
  readonly writeDir?: string;
  /** `--silent`: print nothing on stdout (errors still go to stderr). */
  readonly silent?: boolean;
  readonly io: CliIo;
  /** Current time in ms, for the validity checks; default `Date.now`. */
  readonly now?: () => number;
}

/** Runs the command; returns the exit code (0; 1 with one line on stderr; 2 for an unusable `--write`). */
export async function runFetchX509(options: FetchX509CommandOptions): Promise<ExitCode> {
  const { io, socketPath } = options;
  const print = options.silent ? () => {} : io.out;
  // Progress lines would make the JSON on stdout invalid.
  const progress = options.silent ? () => {} : options.output === 'json' ? io.err : io.out;
  try {
    // Before the call: a --write that cannot work is a usage error, not a wasted fetch.
    if (options.writeDir !== undefined) await ensureDirectoryFor('--write', options.writeDir);
    await checkSocketFile(socketPath);
    const started = performance.now();
    let response: X509SVIDResponse;
    try {
      response = await fetchX509Once({ socketPath, timeoutMs: options.timeoutMs });
    } catch (err) {
      throw explainCallError(err, { socketPath, timeoutMs: options.timeoutMs });
    }
    const elapsedMs = performance.now() - started;
    const svids = checkX509Response(response, (options.now ?? Date.now)());
    print(options.output === 'json' ? formatSpireJson([x509SvidResponseJson(response)]) : formatPretty(svids, elapsedMs));
    if (options.writeDir !== undefined) {
      for (const line of await writeSvids(options.writeDir, svids)) progress(`${line}\n`);
    }
    return EXIT.OK;
  } catch (err) {
    return reportFailure(io, err);
  }
}

/** Fails early, with a clear message, when there is no socket to connect to. */
async function checkSocketFile(socketPath: string): Promise<void> {
  try {
    const info = await stat(socketPath);
    if (!info.isSocket()) throw new AgentError('AGENT_UNAVAILABLE', `${socketPath} is not a unix socket`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new AgentError(
        'AGENT_UNAVAILABLE',
        `no Workload API socket at ${socketPath} (is the agent running? use --socket or SPIFFE_ENDPOINT_SOCKET)`,
      );
    }
    if (code === 'EACCES') throw new AgentError('AGENT_UNAVAILABLE', `cannot reach ${socketPath}: permission denied`);
    throw err;
  }
}

/** Go's `time.Time` format, as spire-agent prints it: `2024-01-02 15:04:05 +0000 UTC`. */
function goTime(ms: number): string {
  return `${new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} +0000 UTC`;
}

/** The `<what> Valid After` and `<what> Valid Until` lines of a certificate. */
function validityLines(what: string, cert: X509Certificate): string[] {
  const { notBefore, notAfter } = certificateValidity(cert);
  return [`${what} Valid After:\t${goTime(notBefore)}`, `${what} Valid Until:\t${goTime(notAfter)}`];
}

/** Go's `time.Duration` format for short durations: `12.345ms`, `1.5s`. */
function goDuration(ms: number): string {
  return ms < 1000 ? `${Number(ms.toFixed(3))}ms` : `${Number((ms / 1000).toFixed(6))}s`;
}

/** The pretty form, laid out like spire-agent's. Prints no key material. */
export function formatPretty(svids: readonly CheckedSvid[], elapsedMs: number): string {
  const lines = [`Received ${svids.length} svid${svids.length === 1 ? '' : 's'} after ${goDuration(elapsedMs)}`, ''];
  for (const svid of svids) {
    lines.push(`SPIFFE ID:\t\t${svid.spiffeId}`);
    if (svid.hint !== '') lines.push(`Hint:\t\t\t${svid.hint}`);
    const [leaf, ...intermediates] = svid.chain;
    if (leaf) lines.push(...validityLines('SVID', leaf));
    for (const [i, cert] of intermediates.entries()) lines.push(...validityLines(`Intermediate #${i + 1}`, cert));
    for (const [i, ca] of svid.bundle.entries()) lines.push(...validityLines(`CA #${i + 1}`, ca));
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `svid.N.pem` (0644), `svid.N.key` (0600) and `bundle.N.pem` (0644) into the existing `dir`; returns progress lines. */
export async function writeSvids(dir: string, svids: readonly CheckedSvid[]): Promise<string[]> {
  const lines: string[] = [];
  for (const [i, svid] of svids.entries()) {
    const svidPath = join(dir, `svid.${i}.pem`);
    const keyPath = join(dir, `svid.${i}.key`);
    const bundlePath = join(dir, `bundle.${i}.pem`);
    lines.push(`Writing SVID #${i} to file ${svidPath}.`);
    await writeFileAtomic(svidPath, svid.chain.map((c) => c.toString()).join(''), 0o644);
    lines.push(`Writing key #${i} to file ${keyPath}.`);
    await writeFileAtomic(keyPath, svid.key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    lines.push(`Writing bundle #${i} to file ${bundlePath}.`);
    await writeFileAtomic(bundlePath, svid.bundle.map((c) => c.toString()).join(''), 0o644);
  }
  return lines;
}
