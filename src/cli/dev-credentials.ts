/**
 * `run --dev` credentials (SPEC §9): a trust anchor, an issuer and a JWT key created once under
 * `./.svid-agent/` and reused on later starts, in the same layout `certs create` writes.
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import { AgentError } from '../errors.js';
import { F, type Logger } from '../log.js';
import { existingCredentialFiles, writeCredentialSet } from './credential-files.js';
import { credentialPaths } from './credential-layout.js';

/** Log field for the trust domain (not among the shared `F` names yet). */
const TRUST_DOMAIN_FIELD = 'trust_domain';

/** The paths `run` loads in dev mode. */
export interface DevCredentials {
  /** `DIR/ca-bundle.crt` */
  readonly trustAnchors: string;
  /** `DIR/issuer` (holds tls.crt and tls.key) */
  readonly issuerDir: string;
  /** `DIR/jwt.key` */
  readonly jwtKey: string;
}

/** Options of {@link ensureDevCredentials}. */
export interface EnsureDevCredentialsOptions {
  /** Trust domain the credentials are made for (only used when creating them). */
  readonly trustDomain: string;
  readonly logger: Logger;
  /** Current time in ms; default `Date.now()`. */
  readonly now?: number;
}

/**
 * Creates the dev credentials in `dir` (mode 0700, keys 0600) unless all of them are there
 * already, in which case they are reused as they are.
 * @throws AgentError `CREDENTIALS_INVALID` when only some of the files exist: mixing a new
 *   issuer with an old anchor would give SVIDs nobody trusts, so the user decides (delete `dir`)
 */
export async function ensureDevCredentials(dir: string, options: EnsureDevCredentialsOptions): Promise<DevCredentials> {
  const { logger } = options;
  const paths = credentialPaths(dir);
  const result = { trustAnchors: paths.trustAnchors, issuerDir: paths.issuerDir, jwtKey: paths.jwtKey };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The directory may predate us with a looser mode; it holds keys and the socket.
  if (((await stat(dir)).mode & 0o077) !== 0) await chmod(dir, 0o700);
  const { present, missing } = await existingCredentialFiles(dir);
  if (present.length === 0) {
    await writeCredentialSet(dir, { trustDomain: options.trustDomain, dirMode: 0o700, now: options.now });
    logger.info({ [F.path]: dir, [TRUST_DOMAIN_FIELD]: options.trustDomain }, 'created dev credentials');
    return result;
  }
  if (missing.length > 0) {
    throw new AgentError(
      'CREDENTIALS_INVALID',
      `dev credentials in ${dir} are incomplete: ${missing.join(', ')} missing while ${present.join(', ')} exist (delete ${dir} to create new ones)`,
    );
  }
  await warnIfOtherTrustDomain(paths.issuerCert, options);
  logger.info({ [F.path]: dir }, 'reusing dev credentials');
  return result;
}

/** Credentials made for another trust domain still work, but their names would confuse. */
async function warnIfOtherTrustDomain(issuerCert: string, options: EnsureDevCredentialsOptions): Promise<void> {
  try {
    const subject = new X509Certificate(await readFile(issuerCert)).subject;
    const expected = `CN=identity.linkerd.${options.trustDomain}`;
    if (!subject.split('\n').includes(expected)) {
      options.logger.warn(
        { [F.path]: issuerCert, [TRUST_DOMAIN_FIELD]: options.trustDomain },
        'dev issuer was made for another trust domain; delete the dev directory to recreate it',
      );
    }
  } catch {
    // Unreadable or broken: loading the issuer reports it with the full reason.
  }
}
