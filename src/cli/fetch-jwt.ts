/**
 * `svid-agent api fetch jwt` (docs/cli.md, like `spire-agent api fetch jwt`): fetch the JWT bundles
 * (first FetchJWTBundles message), then JWT-SVIDs for the audiences, and print
 * `token(<id>):\n\t<jwt>` per SVID and `bundle(<td>):\n\t<jwks>` per trust domain, or with
 * `--output json` the two responses as one JSON array (`[svids, bundles]`), as spire-agent does.
 */
import { explainCallError, jwtDisabled } from './call-errors.js';
import { type CliIo, reportFailure } from './cli-io.js';
import { ConfigError, EXIT, type ExitCode } from './exit.js';
import type { OutputFormat } from './fetch-x509.js';
import { formatSpireJson, jwtBundlesResponseJson, jwtSvidResponseJson } from './spire-json.js';
import { createWorkloadClient, firstMessage, type JWTBundlesResponse, type JWTSVIDResponse } from './workload-client.js';

/**
 * `--audience A[,B]` as a list: split on commas, blanks dropped (SPIRE's comma-strings flag).
 * @throws ConfigError `--audience: audience must be specified` when nothing is left
 */
export function parseAudienceFlag(flag: string | undefined): string[] {
  const audience = (flag ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (audience.length === 0) throw new ConfigError(['--audience: audience must be specified']);
  return audience;
}

/** Options of {@link runFetchJwt}. */
export interface FetchJwtCommandOptions {
  /** Absolute path of the agent socket. */
  readonly socketPath: string;
  /** `--audience`, already split on commas; must not be empty. */
  readonly audience: readonly string[];
  /** `--spiffe-id`: ask for this identity only. */
  readonly spiffeId?: string;
  /** Deadline of each call, ms (`--timeout`, default 5s). */
  readonly timeoutMs: number;
  /** `--output`, default `pretty`. */
  readonly output: OutputFormat;
  readonly io: CliIo;
}

/** Runs the command; returns the exit code (0, or 1 with one line on stderr). Prints tokens only to stdout. */
export async function runFetchJwt(options: FetchJwtCommandOptions): Promise<ExitCode> {
  const client = createWorkloadClient({ socketPath: options.socketPath });
  try {
    const bundles = await call(options, 'fetching JWT bundles', () =>
      firstMessage(client.fetchJWTBundles({ deadline: Date.now() + options.timeoutMs })),
    );
    const svids = await call(options, 'fetching the JWT-SVID', () =>
      client.fetchJWTSVID({ audience: options.audience, spiffe_id: options.spiffeId ?? '' }, { deadline: Date.now() + options.timeoutMs }),
    );
    options.io.out(
      options.output === 'json'
        ? formatSpireJson([jwtSvidResponseJson(svids), jwtBundlesResponseJson(bundles)])
        : formatPretty(svids, bundles),
    );
    return EXIT.OK;
  } catch (err) {
    return reportFailure(options.io, err);
  } finally {
    client.close();
  }
}

/** The pretty form, laid out like spire-agent's. */
export function formatPretty(svids: JWTSVIDResponse, bundles: JWTBundlesResponse): string {
  let text = '';
  for (const svid of svids.svids) {
    text += `token(${svid.spiffe_id}):\n\t${svid.svid}\n`;
    if (svid.hint !== '') text += `hint(${svid.spiffe_id}):\n\t${svid.hint}\n`;
  }
  for (const [td, jwks] of Object.entries(bundles.bundles)) text += `bundle(${td}):\n\t${jwks.toString('utf8')}\n`;
  return text;
}

async function call<T>(options: { socketPath: string; timeoutMs: number }, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explainCallError(err, { ...options, what, unimplemented: jwtDisabled(options.socketPath) });
  }
}
