/**
 * `svid-agent certs create --out DIR` (docs/configuration.md): a trust anchor, an issuer signed by it and a JWT
 * key, in Linkerd's layout, ready for `run --trust-anchors DIR/ca-bundle.crt --issuer-dir
 * DIR/issuer --jwt-key DIR/jwt.key` and for the `linkerd-identity-trust-roots` ConfigMap and the
 * `linkerd-identity-issuer` Secret.
 */
import { join, resolve } from 'node:path';
import { formatDuration, parseDuration } from '../duration.js';
import { isTrustDomain } from '../identity.js';
import { type CliIo, reportFailure } from './cli-io.js';
import { ANCHOR_TTL_MS, DEFAULT_ISSUER_TTL_MS, existingCredentialFiles, writeCredentialSet } from './credential-files.js';
import type { CredentialPaths } from './credential-layout.js';
import { ConfigError, EXIT, type ExitCode } from './exit.js';
import { ensureDirectoryFor } from './flag-dirs.js';
import { displayPath, shellQuote } from './invocation.js';

const DEFAULT_TRUST_DOMAIN = 'cluster.local';

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
  const trustDomain = flags.trustDomain ?? DEFAULT_TRUST_DOMAIN;
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

/** Where `certs create` prints to, and how its printed commands start. */
export interface CertsCreateOutput {
  readonly io: CliIo;
  /** This program as it was run (`svid-agent`, `node bin/svid-agent.js`). */
  readonly self: string;
  /** The working directory: printed paths below it are relative, as the user typed them. */
  readonly cwd: string;
}

/**
 * Writes the credential set. Refuses (exit 2) when any of the files exists, unless `force`, and
 * when `--out` is not a directory it may write in. Prints what it wrote and commands that use it
 * and work as printed (every non-default choice carried over); never key material.
 */
export async function runCertsCreate(options: CertsCreateOptions, output: CertsCreateOutput, now: number = Date.now()): Promise<ExitCode> {
  const { io } = output;
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
        ...nextSteps(p, options, output),
        '',
      ].join('\n'),
    );
    return EXIT.OK;
  } catch (err) {
    return reportFailure(io, err);
  }
}

/**
 * The commands that use the new set on this machine, as they must be typed: the unix attestor
 * (no cluster needed) and a socket beside the files (no root needed), plus the trust domain
 * when it is not the default.
 */
function nextSteps(p: CredentialPaths, options: CertsCreateOptions, { self, cwd }: CertsCreateOutput): string[] {
  const path = (file: string) => shellQuote(displayPath(file, cwd));
  const socket = path(join(options.outDir, 'agent.sock'));
  const trustDomain = options.trustDomain === DEFAULT_TRUST_DOMAIN ? [] : ['--trust-domain', options.trustDomain];
  const run = ['run', '--trust-anchors', path(p.trustAnchors), '--issuer-dir', path(p.issuerDir), '--jwt-key', path(p.jwtKey)];
  return [
    'Run the agent on this machine with them (callers are named by their Unix user):',
    `  ${[self, ...run, ...trustDomain, '--attestor', 'unix', '--socket', socket].join(' ')}`,
    'and fetch an SVID from another terminal in this directory:',
    `  ${self} api fetch x509 --socket ${socket}`,
    `On Kubernetes, load them into the ConfigMap and Secrets the DaemonSet mounts (docs/kubernetes.md)${
      trustDomain.length > 0 ? `, and set --trust-domain=${options.trustDomain} in daemonset/daemonset.yaml` : ''
    }.`,
  ];
}
