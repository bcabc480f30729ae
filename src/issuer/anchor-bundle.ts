/**
 * Which certificates of a trust-anchor bundle are roots we serve (issue 9). A bundle is read the
 * way Linkerd reads it, tolerantly: during an anchor rotation `ca-bundle.crt` often still holds
 * an expired root, and some bundles carry a certificate that is not a CA. Each such certificate
 * is skipped (the caller logs one warning per skipped certificate, naming its subject and why);
 * only a bundle without a single usable root is refused. docs/decisions.md, "Tolerant anchor
 * bundles", cites what Linkerd and the proxy do.
 */
import { X509Certificate } from 'node:crypto';
import { certificateValidity } from '../certificate-validity.js';
import { AgentError, describeError } from '../errors.js';
import type { Logger } from '../log.js';
import { readCertificateInfo } from './cert-info.js';
import { certificatesFromPem } from './pem.js';

/** The roots of the trust domain; several during an anchor rotation. */
export interface TrustAnchors {
  /** The usable roots, in file order. */
  readonly certificates: readonly X509Certificate[];
  /** DER of every usable root, concatenated: the Workload API `bundle` encoding. */
  readonly bundleDer: Buffer;
  /** Earliest expiry among the usable roots, ms since the epoch. */
  readonly notAfter: number;
  /** Certificates of the file that are not served, and why; empty for a clean bundle. */
  readonly skipped: readonly SkippedAnchor[];
}

/** A certificate of the bundle that is not served. */
export interface SkippedAnchor {
  /** Position in the file, from 1. */
  readonly index: number;
  /** The subject (`CN=...`), or `undefined` when the certificate does not parse. */
  readonly subject: string | undefined;
  /** Why, e.g. `expired at Jan  1 00:00:00 2021 GMT`, `is not a CA`, `does not parse`. */
  readonly reason: string;
}

/** Why `cert` cannot be a root at `now`, or `undefined` when it can. */
function unusableBecause(cert: X509Certificate, now: number): string | undefined {
  if (!cert.ca) return 'is not a CA';
  // A root that is not yet valid stays: it becomes usable by itself, without a file change.
  if (certificateValidity(cert).notAfter <= now) return `expired at ${cert.validTo}`;
  return undefined;
}

/**
 * Why our DER reader refuses a certificate OpenSSL read (an over-long OID, an explicit
 * `critical FALSE`, over 64 KiB: issue 15), or `undefined`.
 */
function strictDerProblem(der: Buffer): string | undefined {
  try {
    readCertificateInfo(der);
    return undefined;
  } catch (err) {
    return describeError(err).replace(/^certificate /, '');
  }
}

function describeSkipped(s: SkippedAnchor): string {
  return `certificate #${s.index}${s.subject === undefined ? '' : ` (${s.subject})`} ${s.reason}`;
}

/**
 * Selects the usable roots of the PEM text `text` read from `path` at time `now`.
 * @throws AgentError `CREDENTIALS_INVALID` when the text holds no PEM certificate, a PEM block is
 *   damaged, or no certificate is a usable root (the message lists every certificate and why)
 */
export function trustAnchorsFromPem(text: string, path: string, now: number): TrustAnchors {
  const ders = certificatesFromPem(text);
  if (ders.length === 0) throw new AgentError('CREDENTIALS_INVALID', `trust anchors ${path} holds no PEM certificates`);
  const certificates: X509Certificate[] = [];
  const skipped: SkippedAnchor[] = [];
  ders.forEach((der, i) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      skipped.push({ index: i + 1, subject: undefined, reason: 'does not parse' });
      return;
    }
    const reason = strictDerProblem(der) ?? unusableBecause(cert, now);
    if (reason === undefined) certificates.push(cert);
    else skipped.push({ index: i + 1, subject: cert.subject.replaceAll('\n', ', '), reason });
  });
  if (certificates.length === 0) {
    throw new AgentError(
      'CREDENTIALS_INVALID',
      `trust anchors ${path} hold no usable root: ${skipped.map(describeSkipped).join('; ')} (a bundle needs at least one current CA certificate)`,
    );
  }
  return {
    certificates,
    bundleDer: Buffer.concat(certificates.map((c) => c.raw)),
    notAfter: Math.min(...certificates.map((c) => certificateValidity(c).notAfter)),
    skipped,
  };
}

/** Logs one warning per skipped certificate of `anchors`, read from `path`. */
export function warnSkippedAnchors(logger: Logger, path: string, anchors: TrustAnchors): void {
  for (const s of anchors.skipped) {
    logger.warn({ path, certificate: s.index, subject: s.subject, reason: s.reason }, 'trust anchor skipped');
  }
}
