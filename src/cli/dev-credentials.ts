/**
 * `run --dev` credentials: a trust anchor, an issuer and a JWT key created once and reused on
 * later starts, in the layout `certs create` writes. The dev directory (`./.svid-agent`, 0755)
 * holds the socket, which every local user must be able to reach; the keys live in its private
 * subdirectory `credentials/` (0700, keys 0600).
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, rename, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentError } from '../errors.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { readRegularFile } from '../regular-file.js';
import { credentialFiles, existingCredentialFiles, writeCredentialSet } from './credential-files.js';
import { credentialPaths, DEV_CREDENTIALS_NAME } from './credential-layout.js';

/** Log field for the trust domain (not among the shared `LOG_FIELD` names yet). */
const TRUST_DOMAIN_FIELD = 'trust_domain';

/** The dev directory: other users traverse it to reach the socket. */
const DEV_DIR_MODE = 0o755;
/** Largest issuer certificate file read for the trust-domain check (the issuer's credential file cap). */
const MAX_ISSUER_CERT_BYTES = 1024 * 1024;

/** The credentials directory: nobody else lists or reads it. */
const PRIVATE_DIR_MODE = 0o700;

/** The paths `run` loads in dev mode. */
export interface DevCredentials {
  /** `DIR/credentials/ca-bundle.crt` */
  readonly trustAnchors: string;
  /** `DIR/credentials/issuer` (holds tls.crt and tls.key) */
  readonly issuerDir: string;
  /** `DIR/credentials/jwt.key` */
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
 * Makes `devDir` (0755) and creates the dev credentials in `devDir/credentials` (0700, keys 0600)
 * unless all of them are there already, in which case they are reused as they are. A set left
 * directly in `devDir` by an earlier version is moved into `credentials/`.
 * @throws AgentError `CREDENTIALS_INVALID` when only some of the files exist: mixing a new
 *   issuer with an old anchor would give SVIDs nobody trusts, so the user decides (delete `devDir`)
 */
export async function ensureDevCredentials(devDir: string, options: EnsureDevCredentialsOptions): Promise<DevCredentials> {
  const { logger } = options;
  const dir = join(devDir, DEV_CREDENTIALS_NAME);
  const paths = credentialPaths(dir);
  const result = { trustAnchors: paths.trustAnchors, issuerDir: paths.issuerDir, jwtKey: paths.jwtKey };
  await ensureMode(devDir, DEV_DIR_MODE);
  await moveEarlierLayout(devDir, dir, logger);
  await ensureMode(dir, PRIVATE_DIR_MODE);
  const { present, missing } = await existingCredentialFiles(dir);
  if (present.length === 0) {
    await writeCredentialSet(dir, { trustDomain: options.trustDomain, dirMode: PRIVATE_DIR_MODE, now: options.now });
    logger.info({ [LOG_FIELD.path]: dir, [TRUST_DOMAIN_FIELD]: options.trustDomain }, 'created dev credentials');
    return result;
  }
  if (missing.length > 0) {
    throw new AgentError(
      'CREDENTIALS_INVALID',
      `dev credentials in ${dir} are incomplete: ${missing.join(', ')} missing while ${present.join(', ')} exist (delete ${devDir} to create new ones)`,
    );
  }
  await warnIfOtherTrustDomain(paths.issuerCert, options);
  logger.info({ [LOG_FIELD.path]: dir }, 'reusing dev credentials');
  return result;
}

/** Creates `dir`, or sets the mode of the one that is there (ours: made by an earlier `--dev`). */
async function ensureMode(dir: string, mode: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  if (((await stat(dir)).mode & 0o777) !== mode) await chmod(dir, mode);
}

/** Earlier versions kept the set directly in the dev directory (then 0700); move it into `credentials/`. */
async function moveEarlierLayout(devDir: string, dir: string, logger: Logger): Promise<void> {
  const earlier = await existingCredentialFiles(devDir);
  if (earlier.present.length === 0) return;
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) return;
  await mkdir(join(dir, 'issuer'), { recursive: true, mode: PRIVATE_DIR_MODE });
  const from = credentialFiles(credentialPaths(devDir));
  const to = credentialFiles(credentialPaths(dir));
  for (const [i, file] of from.entries()) {
    if (earlier.present.some((p) => join(devDir, p) === file)) await rename(file, to[i] as string);
  }
  await rmdir(join(devDir, 'issuer')).catch(() => undefined);
  logger.info({ [LOG_FIELD.path]: dir }, 'moved dev credentials into their private directory');
}

/** Credentials made for another trust domain still work, but their names would confuse. */
async function warnIfOtherTrustDomain(issuerCert: string, options: EnsureDevCredentialsOptions): Promise<void> {
  try {
    const subject = new X509Certificate(await readRegularFile(issuerCert, MAX_ISSUER_CERT_BYTES)).subject;
    const expected = `CN=identity.linkerd.${options.trustDomain}`;
    if (!subject.split('\n').includes(expected)) {
      options.logger.warn(
        { [LOG_FIELD.path]: issuerCert, [TRUST_DOMAIN_FIELD]: options.trustDomain },
        'dev issuer was made for another trust domain; delete the dev directory to recreate it',
      );
    }
  } catch {
    // Unreadable or broken: loading the issuer reports it with the full reason.
  }
}
