/**
 * Trust anchors and issuer credentials (docs/certificates.md, "Credential files"): loading from disk,
 * and the checks that make the agent refuse an issuer, each with a message saying which.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { certificateValidity as validity } from '../certificate-validity.js';
import { AgentError, describeError } from '../errors.js';
import { type TrustAnchors, trustAnchorsFromPem } from './anchor-bundle.js';
import { type ReadFile, readCredentialFile, readCredentialFileIfPresent } from './credential-file.js';
import { curveOf } from './curves.js';
import { createLeafSigner, type LeafSigner } from './leaf.js';
import { certificatesFromPem } from './pem.js';

/** A loaded, verified issuer. */
export interface IssuerCredentials {
  readonly certificate: X509Certificate;
  /** Sent after each leaf: the issuer, then the rest of its certificate file, in file order. */
  readonly chainDer: readonly Buffer[];
  readonly privateKey: KeyObject;
  /** The earliest expiry in the issuer's chain up to its anchor; leaves never outlive it. */
  readonly notAfter: number;
  readonly signer: LeafSigner;
  /** The files it was read from, for logs. */
  readonly certificatePath: string;
}

/** The two Linkerd issuer Secret layouts: `kubernetes.io/tls` and `linkerd.io/tls`. */
export const ISSUER_LAYOUTS = [
  { certificate: 'tls.crt', key: 'tls.key' },
  { certificate: 'crt.pem', key: 'key.pem' },
] as const;

/** Where the checks read the time and the files; both injectable for tests. */
export interface LoadOptions {
  readonly now: number;
  /** Default: `credential-file.ts`'s bounded reader of regular files. */
  readonly readFile?: ReadFile;
}

const MAX_CHAIN_DEPTH = 8;

function invalid(message: string, cause?: unknown): AgentError {
  return new AgentError('CREDENTIALS_INVALID', message, cause === undefined ? undefined : { cause });
}

async function readText(readFile: ReadFile | undefined, path: string, what: string): Promise<string> {
  return (await readCredentialFile(path, what, readFile)).toString('utf8');
}

function parseCertificates(text: string, path: string, what: string): X509Certificate[] {
  const ders = certificatesFromPem(text);
  if (ders.length === 0) throw invalid(`${what} ${path} holds no PEM certificates`);
  return ders.map((der, i) => {
    try {
      return new X509Certificate(der);
    } catch (err) {
      throw invalid(`${what} ${path}: certificate #${i + 1} does not parse`, err);
    }
  });
}

/**
 * Reads a PEM bundle of trust anchors and keeps its usable roots (`trustAnchorsFromPem`):
 * certificates that do not parse, are not a CA or have expired are skipped and listed in
 * `skipped` for the caller to log; a bundle with no usable root is refused.
 * @throws AgentError `CREDENTIALS_INVALID` naming the file and the problem;
 *   `CREDENTIALS_UNREADABLE` when the file cannot be read now (see `credential-file.ts`)
 */
export async function loadTrustAnchors(path: string, options: LoadOptions): Promise<TrustAnchors> {
  const text = await readText(options.readFile, path, 'trust anchors');
  return trustAnchorsFromPem(text, path, options.now);
}

async function findLayout(
  dir: string,
  readFile: ReadFile | undefined,
): Promise<{ certPath: string; keyPath: string; cert: string; key: string }> {
  const found: string[] = [];
  for (const layout of ISSUER_LAYOUTS) {
    const certPath = join(dir, layout.certificate);
    const keyPath = join(dir, layout.key);
    // Only a file that is not there counts as absent; one that cannot be read now (EMFILE) throws.
    const [cert, key] = await Promise.all([
      readCredentialFileIfPresent(certPath, 'issuer certificate', readFile),
      readCredentialFileIfPresent(keyPath, 'issuer key', readFile),
    ]);
    if (cert && key) return { certPath, keyPath, cert: cert.toString('utf8'), key: key.toString('utf8') };
    if (cert || key) found.push(cert ? layout.certificate : layout.key);
  }
  const partial = found.length > 0 ? ` (found only ${found.join(', ')})` : '';
  throw invalid(`issuer directory ${dir} holds neither tls.crt+tls.key nor crt.pem+key.pem${partial}`);
}

function parseKey(text: string, keyPath: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch (err) {
    throw invalid(`issuer key ${keyPath} is not a PEM private key (EC PRIVATE KEY, PRIVATE KEY or RSA PRIVATE KEY)`, err);
  }
  if (!curveOf(key)?.certificates) {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    throw invalid(`issuer key ${keyPath} must be ECDSA P-256 or P-384, found ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''}`);
  }
  return key;
}

/** True when `parent` issued and signed `child`. */
function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/**
 * Builds the path issuer → (certificates from the issuer file) → anchor and returns it, anchor
 * last; throws naming the first problem (expired link, not a CA, no path).
 */
export function chainToAnchors(
  issuer: X509Certificate,
  rest: readonly X509Certificate[],
  anchors: TrustAnchors,
  now: number,
): X509Certificate[] {
  const path = [issuer];
  let current = issuer;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    const anchor = anchors.certificates.find((a) => a.raw.equals(current.raw) || signedBy(current, a));
    if (anchor) {
      if (!anchor.raw.equals(current.raw)) path.push(anchor);
      return path;
    }
    const next = rest.find((c) => !path.includes(c) && c.ca && signedBy(current, c));
    if (!next) break;
    const { notBefore, notAfter } = validity(next);
    if (notAfter <= now || notBefore > now)
      throw invalid(`intermediate ${next.subject} in the issuer chain is not valid now (valid ${next.validFrom} to ${next.validTo})`);
    path.push(next);
    current = next;
  }
  throw invalid(`issuer certificate (${issuer.subject}, issued by ${issuer.issuer}) does not chain to the trust anchors`);
}

/**
 * Loads the issuer from a directory in either Linkerd layout and verifies it against the anchors:
 * the certificate must be a CA, currently valid, chain to an anchor, and match its ECDSA key.
 * @throws AgentError `CREDENTIALS_INVALID` with a message saying exactly which check failed;
 *   `CREDENTIALS_UNREADABLE` when a file cannot be read now (see `credential-file.ts`)
 */
export async function loadIssuer(dir: string, anchors: TrustAnchors, options: LoadOptions): Promise<IssuerCredentials> {
  const { certPath, keyPath, cert, key } = await findLayout(dir, options.readFile);
  const [certificate, ...rest] = parseCertificates(cert, certPath, 'issuer certificate file') as [X509Certificate, ...X509Certificate[]];
  const privateKey = parseKey(key, keyPath);
  if (!certificate.ca) throw invalid(`issuer certificate ${certPath} (${certificate.subject}) is not a CA`);
  const { notBefore, notAfter } = validity(certificate);
  if (notAfter <= options.now) throw invalid(`issuer certificate ${certPath} expired at ${certificate.validTo}`);
  if (notBefore > options.now) throw invalid(`issuer certificate ${certPath} is not valid before ${certificate.validFrom}`);
  if (!certificate.checkPrivateKey(privateKey)) throw invalid(`issuer key ${keyPath} does not match issuer certificate ${certPath}`);
  const path = chainToAnchors(certificate, rest, anchors, options.now);
  let signer: LeafSigner;
  try {
    signer = createLeafSigner({ certificateDer: certificate.raw, privateKey });
  } catch (err) {
    throw invalid(`issuer certificate ${certPath} cannot sign leaves: ${describeError(err)}`, err);
  }
  return {
    certificate,
    chainDer: [certificate.raw, ...rest.map((c) => c.raw)],
    privateKey,
    notAfter: Math.min(...[...path, ...rest].map((c) => validity(c).notAfter)),
    signer,
    certificatePath: certPath,
  };
}
