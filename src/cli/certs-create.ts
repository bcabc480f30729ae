/**
 * `svid-agent certs create --out DIR` (SPEC §9): a trust anchor, an issuer signed by it and a JWT
 * key, in Linkerd's layout, ready for `run --trust-anchors DIR/ca-bundle.crt --issuer-dir
 * DIR/issuer --jwt-key DIR/jwt.key` and for the `linkerd-identity-trust-roots` ConfigMap and the
 * `linkerd-identity-issuer` Secret.
 */
import { resolve } from 'node:path';
import { formatDuration, parseDuration } from '../duration.js';
import { isTrustDomain } from '../identity.js';
import { type CliIo, reportFailure } from './cli-io.js';
import { ANCHOR_TTL_MS, DEFAULT_ISSUER_TTL_MS, existingCredentialFiles, writeCredentialSet } from './credential-files.js';
import { ConfigError, EXIT, type ExitCode } from './exit.js';
import { ensureDirectoryFor } from './flag-dirs.js';

/** The flags commander hands to the `certs create` action. */
export interface CertsCreateFlags {
  readonly out?: string;
  readonly trustDomain?: string;
  readonly issuerTtl?: string;
  readonly force?: boolean;
}

/** Validated options of {@link runCertsCreate}. */
export interface CertsCreateOptions {
  /** Absolute output directory. */
  readonly outDir: string;
  /** Default `cluster.local`. */
  readonly trustDomain: string;
  /** Issuer lifetime in ms, default 1 year (8760h); at most the anchor's 10 years. */
  readonly issuerTtlMs: number;
  /** Replace existing files instead of refusing. */
  readonly force: boolean;
}

/**
 * Checks the flags, collecting every problem.
 * @throws ConfigError naming each bad flag
 */
export function parseCertsCreateFlags(flags: CertsCreateFlags, cwd: string): CertsCreateOptions {
  const problems: string[] = [];
  if (flags.out === undefined || flags.out === '') problems.push('--out: required (the directory to write the credentials to)');
  const trustDomain = flags.trustDomain ?? 'cluster.local';
  if (!isTrustDomain(trustDomain)) {
    problems.push(`--trust-domain: invalid trust domain "${trustDomain}" (lower-case letters, digits, ".", "-" and "_")`);
  }
  let issuerTtlMs = DEFAULT_ISSUER_TTL_MS;
  if (flags.issuerTtl !== undefined) {
    try {
      issuerTtlMs = parseDuration(flags.issuerTtl);
      if (issuerTtlMs <= 0) problems.push('--issuer-ttl: must be longer than 0');
      if (issuerTtlMs > ANCHOR_TTL_MS) {
        problems.push(`--issuer-ttl: must not be longer than the trust anchor's lifetime (${formatDuration(ANCHOR_TTL_MS)})`);
      }
    } catch (err) {
      problems.push(`--issuer-ttl: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { outDir: resolve(cwd, flags.out as string), trustDomain, issuerTtlMs, force: flags.force === true };
}

/**
 * Writes the credential set. Refuses (exit 2) when any of the files exists, unless `force`, and
 * when `--out` is not a directory it may write in.
 * Prints what it wrote and the `run` command that uses it; never key material.
 */
export async function runCertsCreate(options: CertsCreateOptions, io: CliIo, now: number = Date.now()): Promise<ExitCode> {
  try {
    await ensureDirectoryFor('--out', options.outDir);
    const { present } = await existingCredentialFiles(options.outDir);
    if (present.length > 0 && !options.force) {
      throw new ConfigError([
        `--out: refusing to overwrite existing files in ${options.outDir}: ${present.join(', ')} (use --force to replace them)`,
      ]);
    }
    const written = await writeCredentialSet(options.outDir, {
      trustDomain: options.trustDomain,
      issuerTtlMs: options.issuerTtlMs,
      now,
    });
    const p = written.paths;
    const until = new Date(written.issuerNotAfter).toISOString();
    io.out(
      [
        `Wrote ${p.trustAnchors}   trust anchor (${written.anchorSubject})`,
        `Wrote ${p.anchorKey}   trust anchor key, mode 0600 (keep it offline; only needed to make new issuers)`,
        `Wrote ${p.issuerCert}   issuer (${written.issuerSubject}), valid until ${until}`,
        `Wrote ${p.issuerKey}   issuer key, mode 0600`,
        `Wrote ${p.jwtKey}   JWT-SVID signing key, mode 0600`,
        '',
        'Run the agent with:',
        `  svid-agent run --trust-anchors ${p.trustAnchors} --issuer-dir ${p.issuerDir} --jwt-key ${p.jwtKey}`,
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  } catch (err) {
    return reportFailure(io, err);
  }
}
