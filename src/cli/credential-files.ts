/**
 * Creating a credential set in the layout of `credential-layout.ts`: a trust anchor, an issuer CA
 * signed by it and a JWT signing key. Shared by `certs create` and `--dev`, so both produce the
 * same files the same way. The CA work itself is the issuer's (`../issuer/ca.ts`).
 */
import { X509Certificate } from 'node:crypto';
import { lstat, mkdir } from 'node:fs/promises';
import { relative } from 'node:path';
import { certificateValidity } from '../certificate-validity.js';
import { createIssuerCa, createJwtSigningKey, createTrustAnchor } from '../issuer/index.js';
import { type CredentialPaths, credentialPaths } from './credential-layout.js';
import { writeFileAtomic } from './write-file.js';

/** Lifetime of the trust anchor: 10 years, as Linkerd's docs create it (`--not-after 87600h`). */
export const ANCHOR_TTL_MS = 87_600 * 3_600_000;

/** Default lifetime of the issuer certificate (`certs create --issuer-ttl`): 1 year. */
export const DEFAULT_ISSUER_TTL_MS = 8_760 * 3_600_000;

const KEY_MODE = 0o600;
const CERT_MODE = 0o644;

/** Options of {@link writeCredentialSet}. */
export interface WriteCredentialSetOptions {
  /** Names the certificates: anchor CN `root.linkerd.<td>`, issuer CN `identity.linkerd.<td>`. */
  readonly trustDomain: string;
  /** Issuer certificate lifetime in ms; default {@link DEFAULT_ISSUER_TTL_MS}. */
  readonly issuerTtlMs?: number;
  /** Mode of the directories created; default 0755 (less the umask). */
  readonly dirMode?: number;
  /** Current time in ms; default `Date.now()`. */
  readonly now?: number;
}

/** What {@link writeCredentialSet} wrote. */
export interface WrittenCredentialSet {
  readonly paths: CredentialPaths;
  readonly anchorSubject: string;
  readonly issuerSubject: string;
  /** notAfter of the issuer certificate, ms since the epoch. */
  readonly issuerNotAfter: number;
}

/**
 * Creates a new credential set under `dir`, replacing files that are there (callers check
 * {@link existingCredentialFiles} first). Keys are written 0600, certificates 0644.
 */
export async function writeCredentialSet(dir: string, options: WriteCredentialSetOptions): Promise<WrittenCredentialSet> {
  const paths = credentialPaths(dir);
  const now = options.now ?? Date.now();
  const anchor = createTrustAnchor({ commonName: `root.linkerd.${options.trustDomain}`, ttlMs: ANCHOR_TTL_MS, now });
  const issuer = createIssuerCa({
    anchor,
    commonName: `identity.linkerd.${options.trustDomain}`,
    ttlMs: options.issuerTtlMs ?? DEFAULT_ISSUER_TTL_MS,
    now,
  });
  const jwt = createJwtSigningKey();
  const mode = options.dirMode ?? 0o755;
  await mkdir(dir, { recursive: true, mode });
  await mkdir(paths.issuerDir, { recursive: true, mode });
  // Keys first: a set interrupted half-way is then missing certificates, which both callers report.
  await writeFileAtomic(paths.anchorKey, anchor.privateKeyPem, KEY_MODE);
  await writeFileAtomic(paths.issuerKey, issuer.privateKeyPem, KEY_MODE);
  await writeFileAtomic(paths.jwtKey, jwt.privateKeyPem, KEY_MODE);
  await writeFileAtomic(paths.issuerCert, issuer.certificatePem, CERT_MODE);
  await writeFileAtomic(paths.trustAnchors, anchor.certificatePem, CERT_MODE);
  const issuerCert = new X509Certificate(issuer.certificateDer);
  return {
    paths,
    anchorSubject: new X509Certificate(anchor.certificateDer).subject.replaceAll('\n', ', '),
    issuerSubject: issuerCert.subject.replaceAll('\n', ', '),
    issuerNotAfter: certificateValidity(issuerCert).notAfter,
  };
}

/** The files of a credential set, in the order they are listed to users. */
export function credentialFiles(paths: CredentialPaths): string[] {
  return [paths.trustAnchors, paths.anchorKey, paths.issuerCert, paths.issuerKey, paths.jwtKey];
}

/** Which of the set's files exist under `dir` (as paths relative to `dir`). */
export async function existingCredentialFiles(dir: string): Promise<{ present: string[]; missing: string[] }> {
  const present: string[] = [];
  const missing: string[] = [];
  for (const file of credentialFiles(credentialPaths(dir))) {
    try {
      await lstat(file);
      present.push(relative(dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      missing.push(relative(dir, file));
    }
  }
  return { present, missing };
}
