/**
 * Linkerd's `Certify` (SPEC §4) as a function: the order of checks and their error codes are
 * the contract; `certify-status.ts` maps the codes to gRPC statuses. The agent uses it for
 * every SVID it issues, and a Certify gRPC server can reuse it unchanged.
 */
import type { Clock } from '../clock.js';
import { AgentError, isAgentError } from '../errors.js';
import { type NamingConfig, type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import type { Logger } from '../log.js';
import type { TokenValidator } from '../token-validator.js';
import type { Receiver } from '../watch.js';
import type { IssuerCredentials } from './credentials.js';
import { parseCsr } from './csr.js';
import { checkCsr } from './csr-rules.js';
import { randomSerial } from './serial.js';

/** `CertifyRequest` (identity = 1, token = 2, certificate_signing_request = 3). */
export interface CertifyRequest {
  /** DNS-form name or `spiffe://` ID. */
  readonly identity: string;
  /** The token proving the identity (a service-account JWT). */
  readonly token: string;
  /** DER PKCS#10. */
  readonly csr: Uint8Array;
}

/** `CertifyResponse`, plus what the caller needs to rotate and log. */
export interface CertifyResult {
  /** DER leaf. */
  readonly leaf: Buffer;
  /** DER issuer, then the rest of the issuer's certificate file. */
  readonly intermediates: readonly Buffer[];
  /** Leaf notBefore / notAfter (valid_until), ms since the epoch. */
  readonly notBefore: number;
  readonly validUntil: number;
  readonly serialHex: string;
  readonly identity: WorkloadIdentity;
}

export interface CertifierOptions {
  /** The current issuer; `undefined` until one is loaded. */
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly validator: TokenValidator;
  readonly naming: NamingConfig;
  readonly clock: Clock;
  /** Leaf lifetime, ms (`--svid-ttl`, default 24 h). */
  readonly lifetimeMs: number;
  /** Backdating and extra lifetime for clock skew, ms (`--clock-skew`, default 20 s). */
  readonly clockSkewMs: number;
  readonly logger: Logger;
}

export interface Certifier {
  /**
   * Checks, in order: issuer loaded (`ISSUER_NOT_READY`); identity, token and CSR present and
   * the CSR parses (`INVALID_REQUEST`); the issuer chain has not expired (`ISSUER_NOT_READY`);
   * CSR rules and signature (`CSR_REJECTED`); the token
   * (`TOKEN_NOT_AUTHENTICATED` / `TOKEN_INVALID` / `TOKEN_REVIEW_FAILED`); the token's identity
   * is the one requested (`IDENTITY_MISMATCH`); signing (`SIGNING_FAILED`).
   */
  certify(request: CertifyRequest, options?: { signal?: AbortSignal }): Promise<CertifyResult>;
}

const SUPPORTED_LEAF_CURVES = new Set(['prime256v1', 'secp384r1']);

/** Creates a {@link Certifier}. */
export function createCertifier(options: CertifierOptions): Certifier {
  const { naming, clock, lifetimeMs, clockSkewMs, validator } = options;
  if (!(lifetimeMs > 0)) throw new TypeError('lifetimeMs must be positive');
  if (!(clockSkewMs >= 0)) throw new TypeError('clockSkewMs must not be negative');
  const log = options.logger.child({ subsystem: 'certify' });

  return {
    async certify(request, { signal } = {}) {
      const issuer = options.issuer.get();
      if (!issuer) throw new AgentError('ISSUER_NOT_READY', 'cert issuer not ready yet');
      if (!request.identity) throw new AgentError('INVALID_REQUEST', 'missing identity');
      if (!request.token) throw new AgentError('INVALID_REQUEST', 'missing token');
      if (!request.csr || request.csr.length === 0) throw new AgentError('INVALID_REQUEST', 'missing certificate signing request');
      const csr = parseCsr(request.csr);
      // Where Linkerd checks that its issuer still verifies (pkg/identity/service.go,
      // ensureIssuerStillValid) and fails with a plain error, we answer ISSUER_NOT_READY
      // (UNAVAILABLE), before any TokenReview: docs/decisions.md, "Certify compared with Linkerd".
      if (issuer.notAfter <= clock.now()) {
        throw new AgentError(
          'ISSUER_NOT_READY',
          `cert issuer is not valid: its chain expired at ${new Date(issuer.notAfter).toISOString()}`,
        );
      }
      checkCsr(csr, request.identity);

      const validated = await validator.validate(request.token, { signal });
      const identity = workloadIdentityFor(validated.account, naming);
      const spiffeForm = request.identity.toLowerCase().startsWith('spiffe://');
      const found = spiffeForm ? identity.spiffeId : identity.dnsName;
      if (request.identity !== found) {
        throw new AgentError(
          'IDENTITY_MISMATCH',
          `requested identity did not match provided token: requested=${request.identity}; found=${found}`,
        );
      }

      const curve = csr.namedCurve;
      if (csr.publicKeyAlgorithm !== 'ec' || !curve || !SUPPORTED_LEAF_CURVES.has(curve)) {
        throw new AgentError('SIGNING_FAILED', `CSR must contain an ECDSA P-256 or P-384 public key, found ${csr.publicKeyAlgorithm}`);
      }
      const now = clock.now();
      const notBefore = now - clockSkewMs;
      const notAfter = Math.min(now + lifetimeMs + clockSkewMs, issuer.notAfter);
      if (notAfter <= now) throw new AgentError('SIGNING_FAILED', 'issuer chain has expired');
      const serial = randomSerial();
      let leaf: Buffer;
      try {
        leaf = issuer.signer.sign({
          serial,
          notBefore,
          notAfter,
          subjectPublicKeySpki: csr.publicKeySpki,
          spiffeId: identity.spiffeId,
          dnsName: identity.dnsName,
        });
      } catch (err) {
        if (isAgentError(err)) throw err;
        throw new AgentError('SIGNING_FAILED', 'signing the certificate failed', { cause: err });
      }
      const serialHex = serial.toString('hex');
      log.debug(
        { spiffe_id: identity.spiffeId, serial: serialHex, not_after: new Date(notAfter).toISOString() },
        'issued leaf certificate',
      );
      return { leaf, intermediates: issuer.chainDer, notBefore, validUntil: notAfter, serialHex, identity };
    },
  };
}
