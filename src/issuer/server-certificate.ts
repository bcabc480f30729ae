/**
 * The central issuer's own TLS certificate: a leaf for its server name, signed by the issuer it
 * serves with, as Linkerd's identity controller serves under its own identity. Sent with the
 * issuer's chain, so a client that trusts only the trust anchors verifies it.
 */
import { AgentError } from '../errors.js';
import type { IssuerCredentials } from './credentials.js';
import { newKeyPair } from './keygen.js';
import { toPem } from './pem.js';
import { randomSerial } from './serial.js';

/** Options of {@link issueServerCertificate}. */
export interface ServerCertificateOptions {
  readonly issuer: IssuerCredentials;
  /** The DNS SAN, first. */
  readonly serverName: string;
  /** The URI SAN, when the server name is an account's DNS-form name; else the DNS name only. */
  readonly spiffeId?: string | undefined;
  /** ms since the epoch. */
  readonly now: number;
  /** Leaf lifetime, ms (`--svid-ttl`); clamped to the issuer chain. */
  readonly lifetimeMs: number;
  /** Backdating, ms (`--clock-skew`). */
  readonly clockSkewMs: number;
}

/** A TLS server certificate with its chain, for `tls.createSecureContext({ cert, key })`. */
export interface ServerCertificate {
  /** PEM: the leaf, then the issuer and the rest of the issuer's certificate file. */
  readonly chainPem: string;
  /** PKCS#8 PEM of a fresh P-256 key. Never log it. */
  readonly keyPem: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * Generates a key and signs its leaf.
 * @throws AgentError `SIGNING_FAILED` when the issuer chain has expired or signing fails
 */
export function issueServerCertificate(options: ServerCertificateOptions): ServerCertificate {
  const { issuer, now } = options;
  const { privateKey, publicKey } = newKeyPair('ec', { namedCurve: 'prime256v1' });
  const notBefore = now - options.clockSkewMs;
  const notAfter = Math.min(now + options.lifetimeMs + options.clockSkewMs, issuer.notAfter);
  if (notAfter <= now) throw new AgentError('SIGNING_FAILED', 'issuer chain has expired');
  const leaf = issuer.signer.sign({
    serial: randomSerial(),
    notBefore,
    notAfter,
    subjectPublicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
    dnsName: options.serverName,
    ...(options.spiffeId !== undefined ? { spiffeId: options.spiffeId } : {}),
  });
  return {
    chainPem: [leaf, ...issuer.chainDer].map((der) => toPem('CERTIFICATE', der)).join(''),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    notBefore,
    notAfter,
  };
}
